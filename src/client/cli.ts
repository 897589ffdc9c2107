/**
 * `plan-runner`: the command line over `PlanRunnerClient` (docs/cli.md).
 *
 * Data comes from two places: Temporal (start, messages, `replan`, `status`, `list`, `inbox`: the
 * live runs) and the store the worker records into (`events`, `approvals`, `attempts`,
 * `checkpoints`, `specs`, `migrate`, `replan --dry-run`: `--store` / `PLAN_STORE_URL`, default the SQLite
 * file `.data/plan-runner.db` under the current directory). Store commands need no Temporal server
 * and no worker.
 *
 * Exit codes: 0 success · 1 refused / invalid (spec, input, JSON, message) · 2 usage error ·
 * 3 cannot reach Temporal or the store, run (or node) not found, namespace, search attributes or store
 * tables missing, no worker answering.
 * With `--json`, results are JSON on stdout and errors are also printed there as
 * `{"error": …, "reason"?: …, "code"?: …, "store"?: …, "errors"?: […]}`. Messages for people go to stderr.
 *
 * The program is in `./cli/program.ts`, each command in `./cli/commands/<name>.ts`.
 */
import { main } from './cli/program';

export { buildProgram, main } from './cli/program';
export { CliError, EXIT, type CliDeps, type CliIO } from './cli/context';
export { parseArtifact, parseFailure, readJsonOption } from './cli/parse';
export { statusView } from './cli/views';

// Entry point when run directly (`node dist/src/client/cli.js …`); bin/plan-runner.js calls main itself.
if (require.main === module) {
  void main(process.argv);
}
