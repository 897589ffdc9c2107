/**
 * Building the page from data that may come from an LLM or an agent: every text goes in as a text
 * node, never as HTML, so a node title like `<img onerror=…>` shows as text. The one exception is
 * the graph's SVG, which the server renders with every text escaped (see run-page.ts).
 */

type Child = Node | string | number | null | undefined | false;
type Attributes = Record<string, string | number | boolean | undefined | ((event: Event) => void)>;

/** `h('button', { class: 'x', onclick: … }, 'Cancel')`: an element with attributes, handlers and children. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Attributes = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') element.addEventListener(name.replace(/^on/, ''), value);
    else if (value === true) element.setAttribute(name, '');
    else element.setAttribute(name, String(value));
  }
  append(element, children);
  return element;
}

export function append(parent: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  }
}

/** Replaces an element's content. */
export function replace(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

/** A JSON value shown as indented text (in a `<pre>`). */
export function json(value: unknown): HTMLPreElement {
  return h('pre', { class: 'json' }, value === undefined ? '—' : JSON.stringify(value, null, 2));
}

/** A status badge: the class says which, the text says it too (colour is never the only signal). */
export function badge(status: string): HTMLSpanElement {
  return h('span', { class: `badge status-${status.replace(/[^a-z-]/g, '')}`, 'data-status': status }, status);
}

/** "in 4 min 10 s" / "3 min ago" for a time, against now. */
export function relative(iso: string, now = Date.now()): string {
  const ms = Date.parse(iso) - now;
  const abs = Math.abs(ms);
  const text = abs < 60_000 ? `${Math.round(abs / 1000)} s` : abs < 3_600_000 ? `${Math.floor(abs / 60_000)} min ${Math.round((abs % 60_000) / 1000)} s` : `${Math.floor(abs / 3_600_000)} h ${Math.round((abs % 3_600_000) / 60_000)} min`;
  return ms >= 0 ? `in ${text}` : `${text} ago`;
}

/** A message box for an outcome (`ok`) or a refusal (`error`), announced to screen readers. */
export function notice(kind: 'ok' | 'error' | 'info', text: string): HTMLDivElement {
  return h('div', { class: `notice notice-${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text);
}
