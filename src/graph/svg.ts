/**
 * A graph as a standalone SVG document, laid out by ELK (`layoutGraph`). It needs no scripts, no
 * fonts and no stylesheet: every colour is an attribute. Every text and id from the plan is
 * XML-escaped (and characters XML cannot hold are dropped), so a hostile label cannot add markup.
 *
 * `renderSvg` lays the graph out and draws it; `svgOfLayout` draws a layout already made.
 */
import { TEXT_METRICS, layoutGraph, type GraphLayout, type LayoutEdge, type LayoutNode, type LayoutOptions, type LayoutPoint } from './layout';
import { EDGE_STATE_STYLES, edgeStyle, nodeStyle, type EdgeStyle, type NodeStyle } from './styles';
import type { PlanGraph } from './types';

/** The layout the SVG is drawn from, for callers that draw it themselves (the web console). */
export { layoutGraph } from './layout';

/**
 * `text` for XML content or a quoted attribute: `& < > " '` as entities, and the characters XML
 * 1.0 cannot hold at all (most control characters, lone surrogates, U+FFFE and U+FFFF) dropped.
 */
export function escapeXml(text: string): string {
  return (
    text
      // eslint-disable-next-line no-control-regex
      .replace(/[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/gu, '')
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/'/g, '&#39;')
  );
}

/** A number for an attribute: at most two decimals. */
function num(value: number): string {
  return String(Math.round(value * 100) / 100);
}

function points(list: LayoutPoint[]): string {
  return list.map((p) => `${num(p.x)},${num(p.y)}`).join(' ');
}

function markerId(colour: string): string {
  return `arrow-${colour.replace(/[^0-9a-fA-F]/g, '')}`;
}

/**
 * SVG presentation attributes by name; `null` means the attribute is absent. What a node's shape or
 * an edge's line is painted with, shared by the drawing and by the console's run page, which
 * recolours a drawn overview with the same attributes (`GET …/graph-states`).
 */
export type Paint = Record<string, string | null>;

/** How a node's shapes are painted in `style`. */
export function nodePaint(style: NodeStyle): Paint {
  return { fill: style.fill, stroke: style.stroke, 'stroke-dasharray': style.dashed ? '5 4' : null };
}

/** How an edge's lines are painted in `style` (dashed: not chosen; dotted: never evaluated). */
export function edgePaint(style: EdgeStyle): Paint {
  return {
    stroke: style.stroke,
    'stroke-width': String(style.width),
    'stroke-dasharray': style.line === 'dashed' ? '6 4' : style.line === 'dotted' ? '2 3' : null,
    'marker-end': `url(#${markerId(style.stroke)})`,
  };
}

/** ` name="value"` for a painted attribute, nothing for an absent one. */
function attribute(paint: Paint, name: string): string {
  const value = paint[name];
  return value === null || value === undefined ? '' : ` ${name}="${value}"`;
}

function nodeShape(entry: LayoutNode, fill: string, stroke: string, dashed: string): string {
  const { x, y, width: w, height: h, node } = entry;
  const paint = `fill="${fill}" stroke="${stroke}" stroke-width="1.5"${dashed}`;
  if (node.type === 'switch') {
    return `<polygon points="${points([{ x: x + w / 2, y }, { x: x + w, y: y + h / 2 }, { x: x + w / 2, y: y + h }, { x, y: y + h / 2 }])}" ${paint}/>`;
  }
  if (node.type === 'join') {
    const inset = Math.min(18, w / 6);
    return `<polygon points="${points([
      { x: x + inset, y },
      { x: x + w - inset, y },
      { x: x + w, y: y + h / 2 },
      { x: x + w - inset, y: y + h },
      { x: x + inset, y: y + h },
      { x, y: y + h / 2 },
    ])}" ${paint}/>`;
  }
  const radius = node.ownerKind === 'human' ? 14 : 4;
  const rect = (dx: number) => `<rect x="${num(x + dx)}" y="${num(y + dx)}" width="${num(w)}" height="${num(h)}" rx="${radius}" ${paint}/>`;
  // A fanned-out node is drawn as a stack: one card behind another.
  return node.fanOut ? `${rect(4)}${rect(0)}` : rect(0);
}

function nodeSvg(entry: LayoutNode, withText: boolean): string {
  const { node, x, y, width, height, lines } = entry;
  const style = nodeStyle(node);
  const dashed = attribute(nodePaint(style), 'stroke-dasharray');
  const top = y + height / 2 - ((lines.length - 1) * TEXT_METRICS.lineHeight) / 2;
  const text = lines
    .map((line, i) => `<tspan x="${num(x + width / 2)}" y="${num(top + i * TEXT_METRICS.lineHeight)}"${i === 0 ? ' font-weight="bold"' : ''}>${escapeXml(line)}</tspan>`)
    .join('');
  return (
    `<g class="node" data-node-id="${escapeXml(node.id)}"${node.status ? ` data-status="${escapeXml(node.status)}"` : ''}>` +
    `<title>${escapeXml(`${node.id}: ${node.title}`)}</title>` +
    nodeShape(entry, style.fill, style.stroke, dashed) +
    (withText ? `<text text-anchor="middle" dominant-baseline="central" fill="${style.text}">${text}</text>` : '') +
    '</g>'
  );
}

function edgeSvg(entry: LayoutEdge): string {
  const { edge } = entry;
  const style = edgeStyle(edge);
  const paths = entry.sections
    .map((s) => {
      const route = [s.start, ...s.bends, s.end];
      const paint = edgePaint(style);
      return `<polyline points="${points(route)}" fill="none"${attribute(paint, 'stroke')}${attribute(paint, 'stroke-width')}${attribute(paint, 'stroke-dasharray')}${attribute(paint, 'marker-end')}/>`;
    })
    .join('');
  const label = entry.label
    ? `<rect x="${num(entry.label.x)}" y="${num(entry.label.y)}" width="${num(entry.label.width)}" height="${num(entry.label.height)}" fill="#ffffff" fill-opacity="0.85"/>` +
      `<text x="${num(entry.label.x + entry.label.width / 2)}" y="${num(entry.label.y + entry.label.height / 2)}" text-anchor="middle" dominant-baseline="central" font-size="11" fill="${style.stroke}">${escapeXml(entry.label.text)}</text>`
    : '';
  return (
    `<g class="edge" data-edge-id="${escapeXml(edge.id)}" data-from="${escapeXml(edge.from)}" data-to="${escapeXml(edge.to)}" data-kind="${edge.kind}"` +
    `${edge.state ? ` data-state="${edge.state}"` : ''}><title>${escapeXml(`${edge.from} → ${edge.to}${edge.when !== undefined ? `: ${edge.when}` : ''}`)}</title>${paths}${label}</g>`
  );
}

/** Options of `svgOfLayout` and `renderSvg`. */
export interface SvgOptions {
  /**
   * Whether nodes show their label lines (default true). Without them a node is its shape and
   * colour, with its id and title in its `<title>` (a tooltip): the web console's overview of a
   * large plan, fitted to the page's width, where the text would be a few pixels high and would
   * still be most of the browser's work.
   */
  nodeText?: boolean;
}

/** Draws a layout (from `layoutGraph`) of `graph` as a standalone SVG document, ending in a newline. */
export function svgOfLayout(graph: PlanGraph, layout: GraphLayout, options: SvgOptions = {}): string {
  const withText = options.nodeText ?? true;
  const colours = new Set(layout.edges.map((entry) => edgeStyle(entry.edge).stroke));
  // An overview may be recoloured in place (the console's run page): every edge colour has its arrow.
  if (!withText) for (const style of Object.values(EDGE_STATE_STYLES)) colours.add(style.stroke);
  const markers = [...colours]
    .map(
      (colour) =>
        `<marker id="${markerId(colour)}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="${colour}"/></marker>`,
    )
    .join('');
  const title = graph.run ? `${graph.title ?? graph.planId} (run ${graph.run.runId}: ${graph.run.status})` : (graph.title ?? graph.planId);
  const width = Math.ceil(layout.width);
  const height = Math.ceil(layout.height);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12"${withText ? '' : ' data-overview="true"'}>`,
    `<title>${escapeXml(title)}</title>`,
    `<defs>${markers}</defs>`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<g class="edges">`,
    ...layout.edges.map(edgeSvg),
    '</g>',
    '<g class="nodes">',
    ...layout.nodes.map((entry) => nodeSvg(entry, withText)),
    '</g>',
    '</svg>',
    '',
  ].join('\n');
}

/** Lays `graph` out with ELK and draws it as a standalone SVG document. */
export async function renderSvg(graph: PlanGraph, options: LayoutOptions & SvgOptions = {}): Promise<string> {
  return svgOfLayout(graph, await layoutGraph(graph, options), options);
}
