/** `plan-runner console`: the web console and its JSON API, in the foreground (docs/console.md). */
import * as path from 'node:path';
import { type Command } from 'commander';
import { positiveInt } from '../parse';
import type { CliContext } from '../context';
import type { ConsoleOptions, RunningConsole } from '../../../console/server';

/** The console module, loaded only by this command so that the others never load Fastify. */
const CONSOLE_MODULE = path.join(__dirname, '..', '..', '..', 'console', 'server');

interface ConsoleFlags {
  host: string;
  port: number;
  publicUrl?: string;
  trustProxyHeader?: string;
  log?: boolean;
}

/** Add `console` to the program. */
export function registerConsole(program: Command, ctx: CliContext): void {
  const { err, globals } = ctx;
  program
    .command('console')
    .description('serve the web console and its JSON API (Ctrl-C to stop); people sign in with tokens from `plan-runner users add`')
    .option('--host <host>', 'the address to listen on', '127.0.0.1')
    .option('--port <port>', 'the port to listen on', positiveInt, 8080)
    .option('--public-url <url>', 'the URL people open it at (links in approvals; https turns on Secure cookies); default http://HOST:PORT')
    .option('--trust-proxy-header <name>', 'take the signed-in person from this header, e.g. X-Forwarded-Email: ONLY behind a proxy that sets it and strips it from clients (docs/console.md)')
    .option('--log', 'log every request (tokens and cookies redacted)')
    .action(async (flags: ConsoleFlags, command: Command) => {
      const options = globals(command);
      // Loaded here, not at the top: the other commands are not slowed by a client they may not use.
      const { connectionOptionsFromFlags } = await import('../../connection');
      const { PlanRunnerClient } = await import('../../plan-runner-client');
      const client = await PlanRunnerClient.connect({ ...connectionOptionsFromFlags(options), taskQueue: options.taskQueue, storeUrl: options.store });
      // Users and sessions live in the plan store: create and migrate it like the worker does.
      await client.migrate();
      const store = await client.store();
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { startConsole } = require(CONSOLE_MODULE) as { startConsole(options: ConsoleOptions & { host?: string; port?: number }): Promise<RunningConsole> };
      const publicUrl = flags.publicUrl ?? `http://${flags.host.includes(':') ? `[${flags.host}]` : flags.host}:${flags.port}`;
      const running = await startConsole({ client, store, host: flags.host, port: flags.port, publicUrl, trustProxyHeader: flags.trustProxyHeader, logger: flags.log === true });
      err(`plan-runner console: ${publicUrl} (listening on ${running.url})`);
      err(`  sign in with a token from: plan-runner users add YOUR-NAME`);
      if (flags.trustProxyHeader) err(`  WARNING: trusting the ${flags.trustProxyHeader} header as the signed-in person: only safe behind a proxy that sets it`);
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await running.close();
      await client.close();
    });
}
