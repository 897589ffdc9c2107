/** `plan-runner status`: a run's status, nodes and approvals, from the live run. */
import { type Command } from 'commander';
import { recordingLine, table } from '../../format';
import { brief } from '../parse';
import { statusView } from '../views';
import type { CliContext } from '../context';

/** Add `status` to the program. */
export function registerStatus(program: Command, ctx: CliContext): void {
  const { out, printJson, globals, withClient } = ctx;
  program
    .command('status')
    .description("show a run's status, nodes and approvals (from Temporal: a worker must answer for open runs)")
    .argument('<run>', 'run id')
    .action(async (runId: string, _options: unknown, command: Command) => {
      const snapshot = await withClient(command, (client) => client.snapshot(runId));
      const view = statusView(snapshot);
      if (globals(command).json) {
        printJson(view);
        return;
      }
      out(`run ${view.runId}  plan ${view.planId}${view.title ? ` (${view.title})` : ''}  spec v${view.specVersion}  status ${view.status}`);
      if (view.recording) out(recordingLine(view.recording));
      out('');
      out(
        table([
          ['NODE', 'TYPE', 'STATUS', 'ATTEMPTS', 'OWNER', 'OUTPUT'],
          ...view.nodes.map((node) => [
            node.id,
            node.type,
            node.status,
            String(node.attempts),
            node.owner ?? '',
            brief(node.output),
          ]),
        ]),
      );
      for (const node of view.nodes) {
        for (const issue of node.issues ?? []) out(`  ${node.id}: ${issue.severity} ${issue.path ? `${issue.path}: ` : ''}${issue.message}`);
      }
      if (view.approvals.length) {
        out('');
        out(
          table([
            ['APPROVAL', 'NODE', 'STATUS', 'BY'],
            ...view.approvals.map((a) => [a.approvalId, a.nodeId, a.status, a.respondedBy ?? '']),
          ]),
        );
      }
    });
}
