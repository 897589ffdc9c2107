/**
 * `plan-runner users add|list|revoke`: the people who may sign in to the console and use its API
 * (docs/console.md). They live in the plan store, with their tokens hashed.
 */
import { type Command } from 'commander';
import { hashSecret, newPersonalToken } from '../../../console/tokens';
import { table } from '../../format';
import { CliError, EXIT, type CliContext } from '../context';

/** Names people sign in with: they become `respondedBy` and are matched against `approvers`. */
const USER_NAME = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,199}$/;

/** Add `users` and its subcommands to the program. */
export function registerUsers(program: Command, ctx: CliContext): void {
  const { out, err, printJson, globals, withStore } = ctx;
  const users = program.command('users').description('people who may use the console and its API: add (prints a personal token once), list, revoke');

  users
    .command('add')
    .description('add a person and print their personal token, once (it is stored only as a hash)')
    .argument('<name>', 'the name they act as: what approvals see as respondedBy and match against approvers')
    .action(async (name: string, _options: unknown, command: Command) => {
      if (!USER_NAME.test(name)) {
        throw new CliError(EXIT.usage, `"${name}" cannot be a user name: use letters, digits and . _ @ + - (at most 200, starting with a letter or digit), e.g. an email address`);
      }
      const token = newPersonalToken();
      const added = await withStore(command, async (client) => {
        // The first user often comes before any worker ran: create and migrate the store like `migrate`.
        await client.migrate();
        const store = await client.store();
        return store.addUser(name, hashSecret(token), new Date().toISOString());
      });
      if (!added) throw new CliError(EXIT.refused, `a user "${name}" exists already: revoke them first to give them a new token (plan-runner users revoke ${name})`, { code: 'user-exists' });
      if (globals(command).json) {
        printJson({ name, token });
        return;
      }
      out(token);
      err(`added ${name}. The token above is shown only this once: give it to ${name}, who signs in to the console with it or sends it as "Authorization: Bearer <token>".`);
    });

  users
    .command('list')
    .description('list the people (never their tokens)')
    .action(async (_options: unknown, command: Command) => {
      const list = await withStore(command, async (client) => (await client.store()).listUsers());
      if (globals(command).json) {
        printJson(list);
        return;
      }
      if (list.length === 0) {
        err('no users yet: plan-runner users add NAME');
        return;
      }
      out(table([['NAME', 'CREATED', 'REVOKED'], ...list.map((user) => [user.name, user.createdAt, user.revokedAt ?? ''])]));
    });

  users
    .command('revoke')
    .description("revoke a person's token and end their console sessions")
    .argument('<name>', 'the user')
    .action(async (name: string, _options: unknown, command: Command) => {
      const revoked = await withStore(command, async (client) => (await client.store()).revokeUser(name, new Date().toISOString()));
      if (!revoked) throw new CliError(EXIT.unavailable, `no user "${name}" with a valid token (plan-runner users list)`, { code: 'unknown-user' });
      if (globals(command).json) printJson({ name, revoked: true });
      else err(`revoked ${name}: their token and sessions no longer work`);
    });
}
