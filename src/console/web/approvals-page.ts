/**
 * The Approvals page (`/approvals`, one approval at `/approvals/{runId}/{approvalId}`): what the
 * signed-in person may answer, with what to decide and a form per node type. A human-input form is
 * generated from the node's output schema by JSON Editor (a maintained JSON-Schema form library).
 * After answering, the outcome or the refusal is shown in words.
 */
import { ApiError, describeError, get, post } from './api.js';
import { badge, h, json, notice, relative, replace } from './dom.js';
import type { PendingApproval, SubmitOutcome } from './types.js';

/** JSON Editor's global, loaded from /vendor/jsoneditor.js by `loadJsonEditor` when a page needs it. */
declare const JSONEditor: new (element: HTMLElement, options: Record<string, unknown>) => { getValue(): unknown; validate(): unknown[]; destroy(): void };

export async function approvalsPage(root: HTMLElement, signal: AbortSignal, only?: { runId: string; approvalId: string }): Promise<void> {
  const list = h('div', { id: 'approvals' }, 'Loading…');
  replace(root, h('h1', {}, only ? `Approval ${only.approvalId}` : 'Waiting for me'), list);
  // JSON Editor is large (about 1 MB) and only this page's human-input forms use it, so it is
  // loaded here, next to the approvals, rather than by every page.
  const editorLoaded = loadJsonEditor();
  let approvals: PendingApproval[];
  try {
    // A link to one approval shows it to anyone signed in (it may have been forwarded); the inbox
    // lists only what the person may answer.
    approvals = only
      ? [await get<PendingApproval>(`/api/runs/${encodeURIComponent(only.runId)}/approvals/${encodeURIComponent(only.approvalId)}`)]
      : await get<PendingApproval[]>('/api/approvals?pending=true');
  } catch (error) {
    const gone = error instanceof ApiError && error.status === 404;
    replace(list, notice(gone ? 'info' : 'error', gone ? `This approval is not pending: ${describeError(error)}` : `Could not list approvals: ${describeError(error)}`));
    return;
  }
  if (approvals.length === 0) {
    replace(list, notice('info', 'Nothing waits for you.'));
    return;
  }
  // Without it (it failed to load) a human-input form falls back to a JSON editor.
  if (approvals.some((approval) => approval.outputSchema)) await editorLoaded;
  replace(list, ...approvals.map((approval) => approvalCard(approval, signal)));
}

/** `2 needed, veto: carol · votes: alice ✔, bob ✘`: where a quorum approval stands. */
function quorumText(approval: PendingApproval): string {
  const quorum = approval.quorum as NonNullable<PendingApproval['quorum']>;
  const votes = (approval.votes ?? []).map((vote) => `${vote.by} ${vote.approved && !vote.requiredEdits?.length ? '✔' : '✘'}`);
  return `${quorum.required} approvals needed${quorum.veto.length ? `, veto: ${quorum.veto.join(', ')}` : ''} · votes: ${votes.length ? votes.join(', ') : 'none yet'}`;
}

function approvalCard(approval: PendingApproval, signal: AbortSignal): HTMLElement {
  const result = h('div', { class: 'result', 'aria-live': 'polite' });
  const countdown = h('span', { class: 'deadline' });
  if (approval.deadlineAt) {
    const tick = () => (countdown.textContent = `deadline ${relative(approval.deadlineAt as string)}`);
    tick();
    const timer = setInterval(tick, 1000);
    signal.addEventListener('abort', () => clearInterval(timer));
  }
  const answer = async (response: Record<string, unknown>) => {
    try {
      const outcome = await post<SubmitOutcome>(`/api/runs/${encodeURIComponent(approval.runId)}/responses`, { nodeId: approval.nodeId, approvalId: approval.approvalId, response });
      replace(result, notice('ok', outcome.message ?? `Answered: the node is ${outcome.nodeStatus}, the run is ${outcome.runStatus}.`));
      for (const button of card.querySelectorAll('button')) button.disabled = true;
    } catch (error) {
      replace(result, notice('error', `Your answer was refused: ${describeError(error)}`));
    }
  };
  const card = h(
    'article',
    { class: 'approval', 'data-approval-id': approval.approvalId, 'data-run-id': approval.runId },
    h('h2', {}, approval.nodeId, ' ', badge(approval.kind === 'review' ? 'review' : approval.nodeType), ' ', countdown),
    h('div', { class: 'dim' }, h('a', { href: `/runs/${encodeURIComponent(approval.runId)}`, 'data-link': true }, approval.planTitle ?? approval.runId), ` · requested ${relative(approval.requestedAt)}`, approval.approvers.length ? ` · approvers: ${approval.approvers.join(', ')}` : '', approval.quorum ? ` · ${quorumText(approval)}` : ''),
    approval.mayAnswer === false ? notice('info', approval.cannotAnswer ?? 'You may not answer this approval: an answer from you will be refused.') : null,
    approval.brief ? h('section', {}, h('h3', {}, 'What to decide'), briefView(approval.brief)) : null,
    h('h3', {}, 'Input'),
    json(approval.resolvedInput),
    approval.issues.length ? h('section', {}, h('h3', {}, 'Issues found'), h('ul', { class: 'issues' }, ...approval.issues.map((i) => h('li', { class: `issue-${i.severity}` }, `${i.severity} ${i.code}${i.path ? ` at ${i.path}` : ''}: ${i.message}`)))) : null,
    formFor(approval, answer),
    result,
  );
  return card;
}

function briefView(brief: Record<string, unknown>): HTMLElement {
  return h('dl', { class: 'brief' }, ...Object.entries(brief).flatMap(([key, value]) => [h('dt', {}, key), h('dd', {}, typeof value === 'string' ? value : JSON.stringify(value))]));
}

/** The form of one approval, by what it asks for. */
function formFor(approval: PendingApproval, answer: (response: Record<string, unknown>) => Promise<void>): HTMLElement {
  const comments = h('textarea', { rows: 2, placeholder: 'comments (optional)', 'aria-label': 'comments' });
  const withComments = (response: Record<string, unknown>) => (comments.value.trim() ? { ...response, comments: comments.value.trim() } : response);
  if (approval.kind === 'review') return jsonForm(approval.output ?? {}, 'The corrected output (JSON)', (value) => answer(value), 'Submit correction');
  switch (approval.nodeType) {
    case 'human-approval': {
      const edits = h('textarea', { rows: 3, placeholder: 'required edits, one per line (reject with edits)', 'aria-label': 'required edits' });
      return h(
        'div',
        { class: 'form' },
        comments,
        edits,
        h(
          'div',
          { class: 'buttons' },
          h('button', { class: 'approve', onclick: () => void answer(withComments({ approved: true })) }, 'Approve'),
          h('button', { class: 'reject', onclick: () => {
            const requiredEdits = edits.value.split('\n').map((line) => line.trim()).filter(Boolean);
            void answer(withComments({ approved: false, ...(requiredEdits.length ? { requiredEdits } : {}) }));
          } }, 'Reject'),
        ),
      );
    }
    case 'human-decision':
      return h('div', { class: 'form' }, comments, h('div', { class: 'buttons' }, ...(approval.options ?? []).map((option) => h('button', { class: 'decision', 'data-option': option, onclick: () => void answer(withComments({ decision: option })) }, option))));
    case 'human-review-edit':
      return jsonForm(approval.resolvedInput ?? {}, 'Edit, then approve (JSON)', (edited) => answer(withComments({ edited, approved: true })), 'Approve with these edits');
    default:
      return schemaForm(approval, answer);
  }
}

/** A prefilled JSON editor: the answer is refused here, before sending, when it is not JSON. */
function jsonForm(initial: unknown, label: string, send: (value: Record<string, unknown>) => Promise<void>, action: string): HTMLElement {
  const editor = h('textarea', { rows: 10, class: 'json-editor', 'aria-label': label });
  editor.value = JSON.stringify(initial, null, 2);
  const problem = h('div', {});
  return h('div', { class: 'form' }, h('label', {}, label), editor, problem, h('button', { class: 'submit', onclick: () => {
    try {
      const value = JSON.parse(editor.value) as unknown;
      if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('it must be a JSON object');
      replace(problem);
      void send(value as Record<string, unknown>);
    } catch (error) {
      replace(problem, notice('error', `Not sent: ${(error as Error).message}`));
    }
  } }, action));
}

let jsonEditorScript: Promise<void> | undefined;
/** Loads JSON Editor's script once; settles (never rejects) when it has run or failed to load. */
function loadJsonEditor(): Promise<void> {
  jsonEditorScript ??= new Promise<void>((settled) => {
    const script = document.createElement('script');
    script.src = '/vendor/jsoneditor.js';
    script.onload = () => settled();
    script.onerror = () => settled();
    document.head.append(script);
  });
  return jsonEditorScript;
}

/** A human-input form generated from the node's output schema; a plain JSON editor without one. */
function schemaForm(approval: PendingApproval, answer: (response: Record<string, unknown>) => Promise<void>): HTMLElement {
  if (!approval.outputSchema || typeof JSONEditor === 'undefined') return jsonForm({}, 'Your answer (JSON)', answer, 'Send');
  const holder = h('div', { class: 'schema-form' });
  const editor = new JSONEditor(holder, { schema: approval.outputSchema, theme: 'html', iconlib: null, disable_edit_json: true, disable_properties: true, disable_collapse: true, show_errors: 'always' });
  const problem = h('div', {});
  return h('div', { class: 'form' }, holder, problem, h('button', { class: 'submit', onclick: async () => {
    // JSON Editor takes a field's value on its change event and applies it a frame later: let the
    // field being typed in finish first, or the check below sees the value before the last edit.
    (document.activeElement as HTMLElement | null)?.blur();
    await new Promise((settled) => requestAnimationFrame(() => setTimeout(settled, 0)));
    const errors = editor.validate() as Array<{ path: string; message: string }>;
    if (errors.length) return replace(problem, notice('error', `Not sent: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`));
    replace(problem);
    void answer(editor.getValue() as Record<string, unknown>);
  } }, 'Send'));
}
