/**
 * `plan-runner graph`: a plan file, or a run with its statuses, as a graph (Mermaid, Graphviz DOT
 * or SVG), or as the graph model itself with `--json` (`src/graph`).
 */
import { existsSync } from 'node:fs';
import { extname } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { didYouMean } from '../../../engine/suggest';
import type { PlanGraph } from '../../../graph';
import { PlanValidationError } from '../../errors';
import { checkRunRequest } from '../../plan-checks';
import type { CliContext } from '../context';
import { loadRaw, problemLines } from '../parse';

/** The formats `graph --format` prints. */
export const GRAPH_FORMATS = ['mermaid', 'dot', 'svg'] as const;
export type GraphFormat = (typeof GRAPH_FORMATS)[number];

/** commander parser for `--format`: one of the formats, with the nearest as a hint. */
export function graphFormat(value: string): GraphFormat {
  if ((GRAPH_FORMATS as readonly string[]).includes(value)) return value as GraphFormat;
  throw new InvalidArgumentError(`"${value}" is not a graph format${didYouMean(value, GRAPH_FORMATS)}; use one of: ${GRAPH_FORMATS.join(', ')}`);
}

/** Plan-file extensions: an argument ending in one is a file even when it does not exist (so a typo says "no such file"). */
const PLAN_FILE_EXTENSIONS = ['.yaml', '.yml', '.json'];

/** Whether `graph`'s argument names a plan file (else it is a run id). */
export function isPlanFileArgument(target: string): boolean {
  return existsSync(target) || PLAN_FILE_EXTENSIONS.includes(extname(target).toLowerCase());
}

/**
 * The graph model and its renderers, loaded by `graph` alone: they bring in the engine's run-state
 * helpers and the spec schemas, which the program does not load for other commands.
 */
async function graphModule(): Promise<typeof import('../../../graph')> {
  return import('../../../graph');
}

/** The graph as `format`, ending in a newline. */
export async function renderGraph(graph: PlanGraph, format: GraphFormat): Promise<string> {
  const { renderDot, renderMermaid, renderSvg } = await graphModule();
  if (format === 'dot') return renderDot(graph);
  if (format === 'svg') return renderSvg(graph);
  return renderMermaid(graph);
}

/** Add `graph` to the program. */
export function registerGraph(program: Command, ctx: CliContext): void {
  const { out, err, printJson, globals, withClient } = ctx;
  program
    .command('graph')
    .description(
      'print a plan file, or a run with its node and edge statuses, as a graph: Mermaid (default), Graphviz DOT or SVG ' +
        '(a plan file needs no server; a run is read from Temporal, a worker answering, and its plan from the store)',
    )
    .argument('<file-or-run>', 'a plan file (YAML or JSON) if that path exists (or ends in .yaml, .yml, .json), else a run id')
    .option('--format <format>', `output format: ${GRAPH_FORMATS.join(', ')}`, graphFormat, 'mermaid' as GraphFormat)
    .action(async (target: string, options: { format: GraphFormat }, command: Command) => {
      const json = globals(command).json;
      const { planGraph } = await graphModule();
      let graph: PlanGraph;
      if (isPlanFileArgument(target)) {
        const raw = loadRaw(target);
        // The same check as `validate` (and `start`): an invalid plan is refused with every problem.
        const check = checkRunRequest(raw, undefined, { checkInput: false });
        if (!check.valid || !check.spec) throw new PlanValidationError(check.errors, check.warnings, 'plan spec');
        if (!json) for (const line of problemLines(check.warnings, 'warning: ')) err(line);
        graph = planGraph(check.spec);
      } else {
        graph = await withClient(command, async (client) => {
          const snapshot = await client.snapshot(target);
          // The snapshot has the nodes' statuses; the edges are in the plan, recorded in the store.
          const spec = await client.storedSpec(target, snapshot.specVersion);
          return planGraph(spec, snapshot);
        });
      }
      if (json) {
        printJson(graph);
        return;
      }
      out((await renderGraph(graph, options.format)).replace(/\n$/, ''));
    });
}
