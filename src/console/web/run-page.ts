/**
 * The Run page (`/runs/{runId}`): the plan graph coloured by status, updating live (polling every
 * 1.5 s, which needs no open connection per viewer and survives proxies), a panel per node, the
 * event timeline, and the operator actions, each confirmed and each showing its outcome or refusal.
 */
import { describeError, get, post } from './api.js';
import { badge, h, json, notice, relative, replace } from './dom.js';
import type { GraphStates, NodeDetail, RunEvent, RunStatus } from './types.js';

/** How often the page asks whether the run moved. */
export const POLL_MS = 1500;

export async function runPage(root: HTMLElement, runId: string, signal: AbortSignal): Promise<void> {
  const base = `/api/runs/${encodeURIComponent(runId)}`;
  const header = h('div', { class: 'run-header' }, 'Loading…');
  const graph = h('div', { class: 'graph', id: 'graph', 'aria-label': 'plan graph' });
  const panel = h('aside', { class: 'panel', id: 'node-panel', hidden: true });
  const actions = h('div', { class: 'actions', id: 'actions' });
  const outcome = h('div', { id: 'action-outcome', 'aria-live': 'polite' });
  const timeline = h('ol', { class: 'timeline', id: 'timeline' });
  const children = h('div', { id: 'child-runs' });
  replace(root, header, actions, outcome, h('div', { class: 'run-body' }, graph, panel), children, h('h2', {}, 'Events'), timeline);

  let lastSeq = -1;
  let openNode: string | undefined;
  const fetchSvg = () =>
    fetch(`${base}/graph.svg`, { credentials: 'same-origin' }).then(async (r) => ({
      svg: r.ok ? await r.text() : '',
      seq: Number(r.headers.get('x-plan-last-seq') ?? -1),
      shape: r.headers.get('x-plan-graph-shape') ?? '',
    }));
  // The first drawing is asked for at once, next to the status: on a large plan it is the slow part.
  let firstDrawing: Promise<{ svg: string; seq: number; shape: string }> | undefined = fetchSvg();
  let status: RunStatus | undefined;
  let actionsKey = '';

  const refresh = async () => {
    try {
      status = await get<RunStatus>(base);
    } catch (error) {
      replace(header, notice('error', `Could not read run ${runId}: ${describeError(error)}`));
      return;
    }
    if (status.lastSeq === lastSeq) return;
    lastSeq = status.lastSeq;
    renderHeader(header, status);
    renderChildRuns(children, status);
    // The actions are rebuilt only when what they offer changes, so a half-typed input survives.
    const key = `${status.status}|${retryableNodes(status).map((node) => node.id).join(' ')}`;
    if (key !== actionsKey) {
      actionsKey = key;
      renderActions(actions, outcome, status, base, refresh);
    }
    const early = firstDrawing;
    firstDrawing = undefined;
    const events = get<RunEvent[]>(`${base}/events`).catch(() => [] as RunEvent[]);
    // An overview already drawn is recoloured in place while its shape holds: no SVG to fetch,
    // parse and lay out again (half a megabyte for a 1,000-node plan).
    if (!(early === undefined && graph.dataset.shape && (await recolour(graph, base)))) {
      // The early drawing may be older than this status: then draw again.
      const drawing = await (early ?? fetchSvg()).then((d) => (d.seq !== -1 && d.seq < lastSeq ? fetchSvg() : d));
      // The server renders the SVG with every text escaped; the page's CSP runs no inline script.
      graph.innerHTML = drawing.svg;
      graph.dataset.shape = drawing.shape;
      for (const node of graph.querySelectorAll<SVGGElement>('[data-node-id]')) {
        node.setAttribute('tabindex', '0');
        node.setAttribute('role', 'button');
        const open = () => void showNode(node.dataset.nodeId as string);
        node.addEventListener('click', open);
        node.addEventListener('keydown', (event) => (event as KeyboardEvent).key === 'Enter' && open());
      }
    }
    graph.dataset.lastSeq = String(lastSeq);
    renderTimeline(timeline, await events);
    if (openNode) void showNode(openNode);
  };

  const showNode = async (nodeId: string) => {
    openNode = nodeId;
    panel.hidden = false;
    try {
      const detail = await get<NodeDetail>(`${base}/nodes/${encodeURIComponent(nodeId)}`);
      renderPanel(panel, detail, () => {
        openNode = undefined;
        panel.hidden = true;
      });
    } catch (error) {
      replace(panel, notice('error', `Could not read node ${nodeId}: ${describeError(error)}`));
    }
  };

  await refresh();
  const timer = setInterval(() => void refresh(), POLL_MS);
  signal.addEventListener('abort', () => clearInterval(timer));
}

/**
 * Recolours the overview drawn in `graph` from the run's current node statuses and edge states
 * (`GET …/graph-states`): true when done, false when the drawing must be fetched again (the plan's
 * shape changed, e.g. after a replan, or the states could not be read).
 */
async function recolour(graph: HTMLElement, base: string): Promise<boolean> {
  let states: GraphStates;
  try {
    states = await get<GraphStates>(`${base}/graph-states`);
  } catch {
    return false;
  }
  if (states.shape !== graph.dataset.shape) return false;
  recolourAll(graph.querySelectorAll<SVGGElement>('g[data-node-id]'), (g) => states.nodes[g.dataset.nodeId as string], 'status', states.nodePaint, 'rect, polygon');
  recolourAll(graph.querySelectorAll<SVGGElement>('g[data-edge-id]'), (g) => states.edges[g.dataset.edgeId as string], 'state', states.edgePaint, 'polyline');
  return true;
}

/**
 * Gives each group of `groups` whose `data-KEY` differs from `current(group)` that value, and paints
 * its `shapes` with the attributes the server sent for it.
 */
function recolourAll(
  groups: Iterable<SVGGElement>,
  current: (group: SVGGElement) => string | undefined,
  key: 'status' | 'state',
  paints: GraphStates['nodePaint'],
  shapes: string,
): void {
  for (const group of groups) {
    const value = current(group);
    const paint = value ? paints[value] : undefined;
    if (!value || !paint || group.dataset[key] === value) continue;
    group.dataset[key] = value;
    for (const shape of group.querySelectorAll(shapes)) {
      for (const [name, attribute] of Object.entries(paint)) {
        if (attribute === null) shape.removeAttribute(name);
        else shape.setAttribute(name, attribute);
      }
    }
  }
}

function renderHeader(header: HTMLElement, status: RunStatus): void {
  replace(
    header,
    h('h1', {}, status.title ?? status.planId),
    h('div', { class: 'meta' }, h('code', {}, status.runId), ' ', badge(status.status), ` plan ${status.planId} v${status.specVersion} · ${status.failureCount} failures · event ${status.lastSeq}`),
  );
}

const runLink = (runId: string) => h('a', { href: `/runs/${encodeURIComponent(runId)}`, 'data-link': true }, runId);

/** The parent of a child run, and the child runs of its plan nodes, each a link to its own page. */
function renderChildRuns(section: HTMLElement, status: RunStatus): void {
  const rows = status.nodes.flatMap((node) => [
    ...(node.childRunIds ?? []).map((childRunId) => ({ nodeId: node.id, childRunId, current: childRunId === node.childRunId, nodeStatus: node.status })),
    ...(node.instances ?? []).flatMap((instance) => (instance.childRunId ? [{ nodeId: instance.id, childRunId: instance.childRunId, current: true, nodeStatus: instance.status }] : [])),
  ]);
  replace(
    section,
    status.parent ? h('p', { class: 'parent-run' }, 'Child run of ', runLink(status.parent.runId), ` (node ${status.parent.nodeId}, attempt ${status.parent.attempt})`) : null,
    rows.length
      ? h(
          'section',
          {},
          h('h2', {}, 'Child runs'),
          h('ul', { class: 'child-runs' }, ...rows.map((row) => h('li', { 'data-child-run': row.childRunId }, h('code', {}, row.nodeId), ' → ', runLink(row.childRunId), row.current ? ` (node ${row.nodeStatus})` : ' (earlier attempt)'))),
        )
      : null,
  );
}

function renderTimeline(list: HTMLElement, events: RunEvent[]): void {
  replace(
    list,
    ...events
      .slice()
      .reverse()
      .map((event) =>
        h(
          'li',
          { 'data-type': event.type },
          h('span', { class: 'seq' }, `#${event.seq}`),
          h('time', { datetime: event.at, title: event.at }, relative(event.at)),
          h('span', { class: 'event-type' }, event.type),
          h('span', { class: 'by' }, event.by),
          h('span', { class: 'message' }, event.message),
        ),
      ),
  );
}

function renderPanel(panel: HTMLElement, detail: NodeDetail, close: () => void): void {
  replace(
    panel,
    h('button', { class: 'close', onclick: close, 'aria-label': 'close' }, '×'),
    h('h2', {}, detail.nodeId, ' ', badge(detail.status)),
    h('div', { class: 'dim' }, detail.type),
    h('h3', {}, 'Brief'),
    json(detail.brief),
    h('h3', {}, 'Resolved input'),
    json(detail.resolvedInput),
    h('h3', {}, 'Output'),
    json(detail.output),
    h('h3', {}, 'Timers and deadlines'),
    detail.timers.length
      ? h('ul', {}, ...detail.timers.map((timer) => h('li', {}, `${timer.what}: due ${relative(timer.dueAt)} (${timer.dueAt})`)))
      : h('p', { class: 'dim' }, 'none'),
    h('h3', {}, `Attempts (${detail.attempts.length})`),
    ...detail.attempts.map((attempt) =>
      h(
        'details',
        { class: 'attempt', open: attempt === detail.attempts[detail.attempts.length - 1] },
        h('summary', {}, `#${attempt.attempt} ${attempt.status} by ${attempt.by} ${relative(attempt.at)}${attempt.failureClass ? ` · ${attempt.failureClass}` : ''}${usageText(attempt.usage)}`),
        attempt.failureMessage ? h('p', {}, attempt.failureMessage) : null,
        attempt.issues.length ? h('ul', { class: 'issues' }, ...attempt.issues.map((issue) => h('li', { class: `issue-${issue.severity}` }, `${issue.severity} ${issue.code}${issue.path ? ` at ${issue.path}` : ''}: ${issue.message}`))) : null,
        attempt.artifacts.length ? h('ul', {}, ...attempt.artifacts.map((a) => h('li', {}, `${a.name} (${a.kind}): ${a.pointer}`))) : null,
        json(attempt.output),
      ),
    ),
  );
}

/** ` · $0.0123 · 1540 tokens`: what an attempt reported spending (nothing when it reported none). */
function usageText(usage: NodeDetail['attempts'][number]['usage']): string {
  if (!usage) return '';
  const parts: string[] = [];
  if (usage.costUsd !== undefined) parts.push(`$${usage.costUsd}`);
  if (usage.inputTokens !== undefined || usage.outputTokens !== undefined) parts.push(`${(usage.inputTokens ?? 0) + (usage.outputTokens ?? 0)} tokens`);
  return parts.length ? ` · ${parts.join(' · ')}` : '';
}

/** Nodes and instances a retry can move: failed or blocked. */
function retryableNodes(status: RunStatus): Array<{ id: string; status: string }> {
  return status.nodes.flatMap((node) => [node, ...(node.instances ?? [])]).filter((node) => node.status === 'failed' || node.status === 'blocked');
}

/** The operator actions. Each asks for confirmation, then shows the outcome or the refusal in words. */
function renderActions(bar: HTMLElement, outcome: HTMLElement, status: RunStatus, base: string, refresh: () => Promise<void>): void {
  const finished = status.status === 'completed' || status.status === 'aborted';
  const retryable = retryableNodes(status);
  const act = async (what: string, path: string, body: unknown) => {
    try {
      const result = await post<{ message?: string; runStatus?: string }>(`${base}/${path}`, body);
      replace(outcome, notice('ok', `${what}: ${result.message ?? 'done'}${result.runStatus ? ` (run ${result.runStatus})` : ''}`));
      await refresh();
    } catch (error) {
      replace(outcome, notice('error', `${what} refused: ${describeError(error)}`));
    }
  };
  const cancel = h('button', { id: 'cancel-run', class: 'danger', disabled: finished, onclick: () => {
    const reason = prompt(`Cancel run ${status.runId}? Running nodes stop and pending approvals close. Reason (optional):`);
    if (reason === null) return;
    void act('Cancel', 'cancel', reason ? { reason } : {});
  } }, 'Cancel run');
  const resume = h('button', { id: 'resume-run', disabled: finished, onclick: () => {
    if (confirm(`Resume run ${status.runId}? Running nodes are handed to their owners again.`)) void act('Resume', 'resume', {});
  } }, 'Resume');
  const retryNode = h('select', { 'aria-label': 'node to retry' }, ...retryable.map((node) => h('option', { value: node.id }, `${node.id} (${node.status})`)));
  const retryInput = h('textarea', { rows: 3, placeholder: 'input to use instead (JSON, optional)', 'aria-label': 'retry input' });
  const retry = h('button', { disabled: retryable.length === 0, onclick: () => {
    let input: unknown;
    if (retryInput.value.trim()) {
      try {
        input = JSON.parse(retryInput.value);
      } catch (error) {
        replace(outcome, notice('error', `The retry input is not JSON: ${(error as Error).message}`));
        return;
      }
    }
    if (confirm(`Retry node ${retryNode.value}${input === undefined ? '' : ' with the edited input'}?`)) void act('Retry', 'retry', { nodeId: retryNode.value, ...(input === undefined ? {} : { input }) });
  } }, 'Retry node');
  const replanSpec = h('textarea', { rows: 4, placeholder: 'the new plan spec (JSON)', 'aria-label': 'replan spec' });
  const diff = h('div', { class: 'diff' });
  const replanAct = async (dryRun: boolean) => {
    let spec: unknown;
    try {
      spec = JSON.parse(replanSpec.value);
    } catch (error) {
      replace(outcome, notice('error', `The spec is not JSON: ${(error as Error).message}`));
      return;
    }
    if (dryRun) {
      try {
        replace(diff, h('h3', {}, 'What the replan would change'), json(await post(`${base}/replan`, { spec, dryRun: true })));
      } catch (error) {
        replace(outcome, notice('error', `Replan preview refused: ${describeError(error)}`));
      }
      return;
    }
    if (confirm('Apply this replan? The run continues with the new spec.')) await act('Replan', 'replan', { spec });
  };
  replace(
    bar,
    cancel,
    resume,
    h('details', {}, h('summary', {}, 'Retry…'), retryable.length ? h('div', {}, retryNode, retryInput, retry) : h('p', { class: 'dim' }, 'No failed or blocked node.')),
    h('details', {}, h('summary', {}, 'Replan…'), replanSpec, h('button', { onclick: () => void replanAct(true) }, 'Preview (dry run)'), h('button', { disabled: finished, onclick: () => void replanAct(false) }, 'Apply replan'), diff),
  );
}
