/** `plan-runner events`: a run's recorded events, once or followed until the run finishes. */
import { type Command, Option } from 'commander';
import type { RunEvent, RunStatus } from '../../../engine/types';
import { formatEventLine } from '../../format';
import { CliError, EXIT, type CliContext } from '../context';
import { positiveInt, nonNegativeInt } from '../parse';

interface EventsCommandOptions {
  since?: number;
  limit?: number;
  follow?: boolean;
  stopOnFailed?: boolean;
  poll: number;
  wait: number;
}

/** Add `events` to the program. */
export function registerEvents(program: Command, ctx: CliContext): void {
  const { out, err, printJson, globals, withStore } = ctx;
  program
    .command('events')
    .description(
      "print a run's events from the store, one line each (JSON Lines with --json); --follow waits for new ones until the run finishes",
    )
    .argument('<run>', 'run id')
    .option('--since <seq>', 'only events after this seq', nonNegativeInt)
    .option('--limit <n>', 'at most this many events (not with --follow)', positiveInt)
    .option('-f, --follow', 'keep printing events as they are recorded until the run is completed or aborted (Ctrl-C stops)')
    .option('--stop-on-failed', 'with --follow: also stop when the run is failed (a failed run stays open for retry)')
    .addOption(new Option('--poll <ms>', 'with --follow: how often the store is polled').argParser(positiveInt).default(500))
    .addOption(
      new Option('--wait <ms>', 'with --follow: how long to wait for a run the store does not know yet (e.g. just started)')
        .argParser(nonNegativeInt)
        .default(10_000),
    )
    .action(async (runId: string, options: EventsCommandOptions, command: Command) => {
      const json = globals(command).json;
      const print = (event: RunEvent) => (json ? printJson(event) : out(formatEventLine(event)));
      if (!options.follow) {
        if (options.stopOnFailed) throw new CliError(EXIT.usage, '--stop-on-failed only applies with --follow');
        const events = await withStore(command, (client) =>
          client.events(runId, { sinceSeq: options.since, limit: options.limit }),
        );
        events.forEach(print);
        return;
      }
      if (options.limit !== undefined) throw new CliError(EXIT.usage, '--limit cannot be combined with --follow');
      await followEvents(command, runId, options, print);
    });

  /** `events --follow`: print until the run finishes; Ctrl-C (SIGINT) or SIGTERM stop it with exit 0. */
  async function followEvents(
    command: Command,
    runId: string,
    options: EventsCommandOptions,
    print: (event: RunEvent) => void,
  ): Promise<void> {
    const json = globals(command).json;
    const controller = new AbortController();
    const stop = () => controller.abort();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    try {
      await withStore(command, async (client) => {
        const endOn: RunStatus[] = ['completed', 'aborted', ...(options.stopOnFailed ? (['failed'] as const) : [])];
        let last: RunEvent | undefined;
        for await (const event of client.followEvents(runId, {
          sinceSeq: options.since,
          pollMs: options.poll,
          signal: controller.signal,
          endOn,
          waitForRunMs: options.wait,
        })) {
          print(event);
          last = event;
          if (!json && !options.stopOnFailed && event.type === 'run-status-changed' && event.toStatus === 'failed') {
            err(`run ${runId} is failed; still following (retry a node or cancel the run; Ctrl-C stops)`);
          }
        }
        if (json) return;
        if (controller.signal.aborted) {
          err(`stopped following run ${runId}${last ? ` at seq ${last.seq}` : ''}`);
          return;
        }
        const run = await client.storedRun(runId);
        err(`run ${runId} is ${run.status} (last seq ${run.lastSeq})`);
      });
    } finally {
      process.removeListener('SIGINT', stop);
      process.removeListener('SIGTERM', stop);
    }
  }
}
