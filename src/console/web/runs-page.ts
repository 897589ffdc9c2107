/**
 * The Runs page (`/runs`): filters by status, plan and waiting-on, kept in the URL so a link keeps
 * them. The list refreshes every few seconds (Temporal's visibility lists a new run a moment after
 * it starts), leaving the filter form alone.
 */
import { get, describeError } from './api.js';
import { badge, h, notice, relative, replace } from './dom.js';
import type { RunListItem } from './types.js';

const STATUSES = ['', 'running', 'awaiting-human', 'blocked', 'failed', 'completed', 'aborted'];

/** How often the list is read again. */
export const RUNS_REFRESH_MS = 5000;

export async function runsPage(root: HTMLElement, signal: AbortSignal): Promise<void> {
  const params = new URLSearchParams(location.search);
  const status = h('select', { name: 'status', 'aria-label': 'status' }, ...STATUSES.map((s) => h('option', { value: s, selected: params.get('status') === s }, s || 'any status')));
  const planId = h('input', { name: 'planId', placeholder: 'plan id', value: params.get('planId') ?? '' });
  const waitingOn = h('input', { name: 'waitingOn', placeholder: 'waiting on (human:alice)', value: params.get('waitingOn') ?? '' });
  const form = h('form', { class: 'filters', onsubmit: (event: Event) => {
    event.preventDefault();
    const next = new URLSearchParams();
    for (const [key, input] of [['status', status], ['planId', planId], ['waitingOn', waitingOn]] as const) if (input.value) next.set(key, input.value);
    history.pushState(null, '', `/runs${next.size ? `?${next}` : ''}`);
    void runsPage(root, signal);
  } }, status, planId, waitingOn, h('button', { type: 'submit' }, 'Filter'));
  const list = h('div', { id: 'runs' }, 'Loading…');
  replace(root, h('h1', {}, 'Runs'), form, list);
  // A new filter re-renders the page: this instance's timer stops with it.
  const stop = new AbortController();
  const refresh = () => showRuns(list, params);
  await refresh();
  const timer = setInterval(() => void refresh(), RUNS_REFRESH_MS);
  for (const s of [signal, stop.signal]) s.addEventListener('abort', () => clearInterval(timer));
  form.addEventListener('submit', () => stop.abort());
}

async function showRuns(list: HTMLElement, params: URLSearchParams): Promise<void> {
  try {
    const runs = await get<RunListItem[]>(`/api/runs${params.size ? `?${params}` : ''}`);
    if (runs.length === 0) return replace(list, notice('info', 'No runs match these filters.'));
    replace(
      list,
      h(
        'table',
        { class: 'runs' },
        h('thead', {}, h('tr', {}, h('th', {}, 'Run'), h('th', {}, 'Plan'), h('th', {}, 'Status'), h('th', {}, 'Waiting on'), h('th', {}, 'Started'))),
        h(
          'tbody',
          {},
          ...runs.map((run) =>
            h(
              'tr',
              { 'data-run-id': run.runId },
              h(
                'td',
                {},
                h('a', { href: `/runs/${encodeURIComponent(run.runId)}`, 'data-link': true }, run.runId),
                run.parentRunId ? h('div', { class: 'dim' }, 'child of ', h('a', { href: `/runs/${encodeURIComponent(run.parentRunId)}`, 'data-link': true }, run.parentRunId)) : null,
              ),
              h('td', {}, run.title ?? run.planId ?? '—', run.title && run.planId ? h('div', { class: 'dim' }, run.planId) : null),
              h('td', {}, badge(displayStatus(run))),
              h('td', {}, run.waitingOn.join(', ') || '—'),
              h('td', { title: run.startTime }, relative(run.startTime)),
            ),
          ),
        ),
      ),
    );
  } catch (error) {
    replace(list, notice('error', `Could not list runs: ${describeError(error)}`));
  }
}

/**
 * The plan's status, unless Temporal closed the run without it (terminated, timed out): the plan
 * status search attribute then still says what it was last, e.g. `running`.
 */
function displayStatus(run: RunListItem): string {
  const temporal = run.temporalStatus.toLowerCase().replace(/_/g, '-');
  if (temporal === 'terminated' || temporal === 'timed-out') return temporal;
  return run.status ?? temporal;
}
