/**
 * The console's web app: a small router over stable URLs (`/runs`, `/runs/{runId}`, `/approvals`,
 * `/approvals/{runId}/{approvalId}`, `/signin`), so a notification can link to any page. Links
 * marked `data-link` navigate without a reload; every page stops its timers when left.
 */
import { session, signOut } from './api.js';
import { approvalsPage } from './approvals-page.js';
import { h, replace } from './dom.js';
import { runPage } from './run-page.js';
import { runsPage } from './runs-page.js';
import { signinPage } from './signin-page.js';

const root = document.getElementById('app') as HTMLElement;
const who = document.getElementById('who') as HTMLElement;
let leave = new AbortController();

/** `known`: the session already asked for (the first page load), so it is not asked for twice. */
async function route(known?: Awaited<ReturnType<typeof session>>): Promise<void> {
  leave.abort();
  leave = new AbortController();
  const path = location.pathname;
  const me = path === '/signin' ? undefined : (known ?? (await session()));
  if (!me) {
    replace(who);
    return signinPage(root, () => {
      history.replaceState(null, '', new URLSearchParams(location.search).get('next') ?? '/approvals');
      void route();
    });
  }
  replace(who, 'signed in as ', h('strong', { id: 'signed-in-as' }, me.name), ' ', h('button', { class: 'link', onclick: async () => {
    await signOut();
    history.pushState(null, '', '/signin');
    void route();
  } }, 'sign out'));
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'runs' && parts[1]) return runPage(root, parts[1], leave.signal);
  if (parts[0] === 'approvals') return approvalsPage(root, leave.signal, parts[1] && parts[2] ? { runId: parts[1], approvalId: parts[2] } : undefined);
  return runsPage(root, leave.signal);
}

document.addEventListener('click', (event) => {
  const link = (event.target as Element).closest?.('a[data-link]') as HTMLAnchorElement | null;
  if (!link || event.defaultPrevented || (event as MouseEvent).ctrlKey || (event as MouseEvent).metaKey) return;
  event.preventDefault();
  history.pushState(null, '', link.getAttribute('href'));
  void route();
});
window.addEventListener('popstate', () => void route());
// Not signed in on a deep link: sign in, then come back to it.
if (location.pathname !== '/signin') void session().then((me) => {
  if (!me) history.replaceState(null, '', `/signin?next=${encodeURIComponent(location.pathname + location.search)}`);
  void route(me);
});
else void route();
