/**
 * The web app: one HTML shell for every page URL (the pages route in the browser, see
 * src/console/web/app.ts), its compiled scripts, its stylesheet and JSON Editor's bundle. Files are
 * served by name from fixed folders only, never from a path the request chose.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';

/** The package root (this file runs from dist/src/console/routes). */
const ROOT = path.resolve(__dirname, '../../../..');
const WEB_SOURCE = path.join(ROOT, 'src/console/web');
const WEB_BUILD = path.join(ROOT, 'dist/console-web');
const JSON_EDITOR = require.resolve('@json-editor/json-editor/dist/jsoneditor.js');

/**
 * No inline script, nothing from elsewhere: text from plans and agents is put in as text, and even
 * a handler attribute smuggled into the graph's SVG would not run. Styles may be inline because
 * JSON Editor sets some.
 */
export const CONTENT_SECURITY_POLICY = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/** The URLs the app answers with its shell: each page has a stable URL a notification can link to. */
export const PAGE_PATHS = ['/', '/signin', '/runs', '/runs/:runId', '/approvals', '/approvals/:runId/:approvalId'];

/**
 * The run page's shell also tells the browser to fetch the run's graph at once (`<link
 * rel="preload">`), while it loads the scripts and asks for the session: on a large plan the graph
 * is the slow part of the page, and the page's own request for it (the same URL and credentials
 * mode, so the browser hands it the preloaded response) would otherwise start a few hundred
 * milliseconds later. A browser that is not signed in gets a 401, and the sign-in page.
 */
export function runShell(shell: string, runId: string): string {
  const base = `/api/runs/${encodeURIComponent(runId)}`;
  // encodeURIComponent leaves nothing that could end the attribute (no `"`, `<` or `&`).
  return shell.replace('</head>', `  <link rel="preload" href="${base}/graph.svg" as="fetch" crossorigin>\n</head>`);
}

export function registerPages(app: FastifyInstance): void {
  const shell = readFile(path.join(WEB_SOURCE, 'index.html'), 'utf8');
  for (const url of PAGE_PATHS) {
    app.get(url, async (request, reply) => {
      const { runId } = request.params as { runId?: string };
      const html = url === '/runs/:runId' && runId ? runShell(await shell, runId) : await shell;
      return reply.type('text/html; charset=utf-8').header('content-security-policy', CONTENT_SECURITY_POLICY).header('cache-control', 'no-store').send(html);
    });
  }
  app.get('/assets/style.css', async (_request, reply) => reply.type('text/css; charset=utf-8').send(await readFile(path.join(WEB_SOURCE, 'style.css'), 'utf8')));
  app.get('/assets/:file', async (request, reply) => {
    const { file } = request.params as { file: string };
    // Only the compiled modules, by a plain name: no path the request can steer.
    if (!/^[a-z-]+\.js(\.map)?$/.test(file)) return reply.code(404).send();
    const text = await readFile(path.join(WEB_BUILD, file), 'utf8').catch(() => undefined);
    if (text === undefined) return reply.code(404).send();
    return reply.type(file.endsWith('.map') ? 'application/json' : 'text/javascript; charset=utf-8').send(text);
  });
  const editor = readFile(JSON_EDITOR, 'utf8');
  app.get('/vendor/jsoneditor.js', async (_request, reply) => reply.type('text/javascript; charset=utf-8').header('cache-control', 'public, max-age=86400').send(await editor));
}
