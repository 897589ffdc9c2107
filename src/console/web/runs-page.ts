/** The Runs page (`/runs`): filters by status, plan and waiting-on, kept in the URL so a link keeps them. */
import { get, describeError } from './api.js';
import { badge, h, notice, relative, replace } from './dom.js';
import type { RunListItem } from './types.js';

const STATUSES = ['', 'running', 'awaiting-human', 'blocked', 'failed', 'completed', 'aborted'];

export async function runsPage(root: HTMLElement): Promise<void> {
  const params = new URLSearchParams(location.search);
  const status = h('select', { name: 'status', 'aria-label': 'status' }, ...STATUSES.map((s) => h('option', { value: s, selected: params.get('status') === s }, s || 'any status')));
  const planId = h('input', { name: 'planId', placeholder: 'plan id', value: params.get('planId') ?? '' });
  const waitingOn = h('input', { name: 'waitingOn', placeholder: 'waiting on (human:alice)', value: params.get('waitingOn') ?? '' });
  const form = h('form', { class: 'filters', onsubmit: (event: Event) => {
    event.preventDefault();
    const next = new URLSearchParams();
    for (const [key, input] of [['status', status], ['planId', planId], ['waitingOn', waitingOn]] as const) if (input.value) next.set(key, input.value);
    history.pushState(null, '', `/runs${next.size ? `?${next}` : ''}`);
    void runsPage(root);
  } }, status, planId, waitingOn, h('button', { type: 'submit' }, 'Filter'));
  const list = h('div', { id: 'runs' }, 'Loading…');
  replace(root, h('h1', {}, 'Runs'), form, list);
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
              h('td', {}, h('a', { href: `/runs/${encodeURIComponent(run.runId)}`, 'data-link': true }, run.runId)),
              h('td', {}, run.title ?? run.planId, run.title ? h('div', { class: 'dim' }, run.planId) : null),
              h('td', {}, badge(run.status)),
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
