/** Reading runs: the list, one run's status, its events, a node's panel and the live graph. */
import { z } from 'zod';
import { edgePaint, nodePaint, planGraph, renderSvg, type Paint } from '../../graph';
import { consoleDrawing, drawingShape } from '../drawing';
import { EDGE_STATE_STYLES, NODE_STATUS_STYLES } from '../../graph/styles';
import { statusView } from '../../client/cli/views';
import { EventsQuery, GraphStates, RunListItem, RunStatusView, RunsQuery } from '../api-schemas';
import { problem } from '../problems';
import { nodeDetail } from '../reads';
import { route } from '../route';
import type { PlanRunnerClient } from '../../client/plan-runner-client';

/** How each node status and edge state is painted, as graph-states sends it. */
const mapValues = <T>(record: Readonly<Record<string, T>>, paint: (value: T) => Paint) =>
  Object.fromEntries(Object.entries(record).map(([key, value]) => [key, paint(value)]));
const NODE_PAINT = mapValues(NODE_STATUS_STYLES, nodePaint);
const EDGE_PAINT = mapValues(EDGE_STATE_STYLES, edgePaint);

/** A run's snapshot and its graph (the spec version the snapshot names, with the run's statuses). */
async function runGraph(client: PlanRunnerClient, runId: string) {
  const snapshot = await client.snapshot(runId);
  return { snapshot, graph: planGraph(await client.storedSpec(runId, snapshot.specVersion), snapshot) };
}

export const runRoutes = [
  route<undefined, z.infer<typeof RunsQuery>>({
    method: 'GET',
    path: '/api/runs',
    summary: 'Runs, newest first, by status, plan and who they wait on (PlanWaitingOn, e.g. human:alice)',
    tag: 'runs',
    auth: 'person',
    query: RunsQuery,
    response: z.array(RunListItem),
    problems: [400, 401, 503],
    async handler({ query }, { client, store }) {
      const runs = await client.list({
        status: query.status,
        planId: query.planId,
        waitingOn: query.waitingOn,
        limit: query.limit ?? 100,
        ...(query.topLevel === 'true' ? { topLevel: true } : {}),
      });
      // The plan title is in the store (Temporal's list has only the search attributes).
      const titles = await Promise.all(runs.map((run) => store.getRun(run.runId).then((stored) => stored?.title, () => undefined)));
      return runs.map((run, index) => ({
        runId: run.runId,
        ...(run.planId ? { planId: run.planId } : {}),
        ...(titles[index] ? { title: titles[index] } : {}),
        ...(run.status ? { status: run.status } : {}),
        waitingOn: run.waitingOn,
        startTime: run.startTime.toISOString(),
        ...(run.closeTime ? { closeTime: run.closeTime.toISOString() } : {}),
        temporalStatus: run.temporalStatus,
        ...(run.parentRunId ? { parentRunId: run.parentRunId } : {}),
      }));
    },
  }),
  route({
    method: 'GET',
    path: '/api/runs/{runId}',
    summary: "A run's status, nodes and approvals: the `plan-runner status --json` view",
    tag: 'runs',
    auth: 'person',
    response: RunStatusView,
    problems: [401, 404, 503],
    async handler({ params }, { client }) {
      return statusView(await client.snapshot(params.runId));
    },
  }),
  route<undefined, z.infer<typeof EventsQuery>>({
    method: 'GET',
    path: '/api/runs/{runId}/events',
    summary: "The run's recorded events in seq order (from the store)",
    tag: 'runs',
    auth: 'person',
    query: EventsQuery,
    response: z.array(z.record(z.string(), z.unknown())),
    problems: [400, 401, 404],
    async handler({ params, query }, { client }) {
      return client.events(params.runId, { sinceSeq: query.afterSeq, limit: query.limit ?? 1000 });
    },
  }),
  route({
    method: 'GET',
    path: '/api/runs/{runId}/nodes/{nodeId}',
    summary: "A node's panel: brief, resolved input, output, attempts with their issues and artifacts, timers with due times",
    tag: 'runs',
    auth: 'person',
    response: z.record(z.string(), z.unknown()),
    problems: [401, 404],
    async handler({ params }, { store }) {
      const detail = await nodeDetail(store, params.runId, params.nodeId);
      if (!detail) throw problem(404, 'Node not found', `Run ${params.runId} has no recorded node "${params.nodeId}".`, { reason: 'unknown-node' });
      return detail;
    },
  }),
  route({
    method: 'GET',
    path: '/api/runs/{runId}/graph',
    summary: "The run's plan graph as data: nodes with statuses, edges taken, inactive or skipped, loops and fan-outs",
    tag: 'runs',
    auth: 'person',
    response: z.record(z.string(), z.unknown()),
    problems: [401, 404, 503],
    async handler({ params }, { client }) {
      return (await runGraph(client, params.runId)).graph;
    },
  }),
  route({
    method: 'GET',
    path: '/api/runs/{runId}/graph.svg',
    summary: "The run's plan graph drawn as SVG (laid out by ELK), each node a `[data-node-id]` group",
    tag: 'runs',
    auth: 'person',
    problems: [401, 404, 503],
    async handler({ params, reply }, { client, layout }) {
      const { snapshot, graph } = await runGraph(client, params.runId);
      const svg = await renderSvg(graph, consoleDrawing(graph, layout));
      // Which event the drawing is as of: the page fetches it next to the status and compares.
      reply.type('image/svg+xml; charset=utf-8').header('cache-control', 'no-store').header('x-plan-last-seq', String(snapshot.lastSeq));
      // An overview can be recoloured in place while its shape holds (graph-states).
      const shape = drawingShape(graph);
      if (shape) reply.header('x-plan-graph-shape', shape);
      return svg;
    },
  }),
  route({
    method: 'GET',
    path: '/api/runs/{runId}/graph-states',
    summary: "Each node's status and each edge's state, with their styles: the run page recolours a drawn overview (a plan of more than 250 nodes) with them instead of fetching the SVG again",
    tag: 'runs',
    auth: 'person',
    response: GraphStates,
    problems: [401, 404, 503],
    async handler({ params }, { client }) {
      const { snapshot, graph } = await runGraph(client, params.runId);
      return {
        lastSeq: snapshot.lastSeq,
        // A plan drawn with its text has no shape to keep: the page draws it again whole.
        shape: drawingShape(graph) ?? '',
        nodes: Object.fromEntries(graph.nodes.flatMap((node) => (node.status ? [[node.id, node.status]] : []))),
        edges: Object.fromEntries(graph.edges.flatMap((edge) => (edge.state ? [[edge.id, edge.state]] : []))),
        nodePaint: NODE_PAINT,
        edgePaint: EDGE_PAINT,
      };
    },
  }),
];
