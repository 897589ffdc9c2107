/**
 * The graph model (src/graph) and `plan-runner graph FILE`: every node and edge of the examples in
 * the Mermaid output, loop edges and fan-out, edge states of runs driven by the real engine (from
 * its state and from its snapshot), escaping of hostile ids and labels in Mermaid, DOT and SVG, and
 * an SVG that is well-formed with ELK's positions. No Temporal: a run id goes to 127.0.0.1:1.
 */
import { describe, it, test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { main, type CliIO } from '../../src/client/cli';
import { loadPlanFile } from '../../src/client/load-spec';
import { cancelRun, snapshotOf, type PlanSpec, type RunState } from '../../src/engine';
import {
  dotString,
  escapeMermaidText,
  escapeXml,
  layoutGraph,
  planGraph,
  renderDot,
  renderMermaid,
  renderSvg,
  type GraphEdgeState,
  type PlanGraph,
} from '../../src/graph';
import { LayoutThread } from '../../src/console/layout-thread';
import { consoleDrawing, OVERVIEW_ABOVE_NODES, OVERVIEW_NODE_SIZE } from '../../src/console/drawing';
import { Driver, edge, ok, plan, task } from './engine-helpers';

const EXAMPLES = path.resolve(__dirname, '../../../examples');
const example = (name: string) => path.join(EXAMPLES, `${name}.plan.yaml`);
const loadExample = (name: string) => loadPlanFile(example(name)).raw as PlanSpec;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(...args: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const io: CliIO = { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text) };
  const code = await main(['node', 'plan-runner', ...args], io);
  return { code, stdout, stderr };
}

/** The Mermaid id each plan node gets: `n<position>`. */
function mermaidIds(spec: PlanSpec): Map<string, string> {
  return new Map(spec.nodes.map((node, index) => [node.id, `n${index}`]));
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Edge states by `from->to` (the examples join each pair once). */
function edgeStates(graph: PlanGraph): Record<string, GraphEdgeState | undefined> {
  return Object.fromEntries(graph.edges.map((e) => [`${e.from}->${e.to}`, e.state]));
}

/** The graph of a run from its state and from its snapshot: both must agree where a snapshot can tell. */
function bothGraphs(spec: PlanSpec, state: RunState): [PlanGraph, PlanGraph] {
  return [planGraph(spec, state), planGraph(spec, snapshotOf(state))];
}

describe('plan-runner graph FILE', () => {
  it('prints every node and every edge of examples/blog-post.plan.yaml as Mermaid', async () => {
    const result = await cli('graph', example('blog-post'), '--format', 'mermaid');
    assert.equal(result.code, 0, result.stderr);
    const spec = loadExample('blog-post');
    const ids = mermaidIds(spec);
    const lines = result.stdout.trimEnd().split('\n');
    assert.equal(lines[0], 'flowchart TD');
    assert.equal(spec.nodes.length, 6);
    for (const node of spec.nodes) {
      const line = lines.find((l) => l.startsWith(`  ${ids.get(node.id)}[`) || l.startsWith(`  ${ids.get(node.id)}(`));
      assert.ok(line, `node ${node.id} is drawn`);
      assert.ok(line.includes(escapeMermaidText(node.label as string)), `${node.id}'s label: ${line}`);
      assert.ok(line.includes(`${node.id} · ${node.type} · ${node.owner?.kind}:${node.owner?.ref}`), line);
    }
    // Each edge of the file, by hand: [from, to, when].
    const expected: Array<[string, string, string | undefined]> = [
      ['research', 'draft', undefined],
      ['draft', 'approve', undefined],
      ['approve', 'publish', 'output.approved == true'],
      ['publish', 'announce', undefined],
      ['approve', 'archive', 'output.approved == false'],
    ];
    assert.deepEqual(
      (spec.edges ?? []).map((e) => [e.from, e.to, e.when]),
      expected,
      'the example still has these edges',
    );
    const edgeLines = lines.filter((l) => / --> /.test(l) || / -->\|/.test(l));
    assert.equal(edgeLines.length, expected.length);
    for (const [from, to, when] of expected) {
      const label = when === undefined ? '' : `\\|"${escapeRegExp(escapeMermaidText(when))}"\\|`;
      const pattern = new RegExp(`^  ${ids.get(from)} -->${label} ${ids.get(to)}$`);
      assert.ok(edgeLines.some((l) => pattern.test(l)), `edge ${from} → ${to} (${when ?? 'always'}) in:\n${edgeLines.join('\n')}`);
    }
    assert.equal(escapeMermaidText('output.approved == true'), 'output.approved == true', 'a plain condition stays readable');
  });

  it('draws the loop edge of revise-until-approved as a dashed back edge with its bound', async () => {
    const spec = loadExample('revise-until-approved');
    const graph = planGraph(spec);
    const loop = graph.edges.find((e) => e.kind === 'loop');
    assert.ok(loop);
    assert.deepEqual([loop.from, loop.to, loop.when, loop.loop], ['review', 'draft', 'output.approved == false', { maxIterations: 3, onExhausted: 'continue' }]);
    assert.deepEqual(graph.edges.filter((e) => e.kind === 'forward').map((e) => `${e.from}->${e.to}`), ['draft->review', 'review->publish', 'review->archive']);
    assert.deepEqual(graph.nodes.map((n) => [n.id, n.loop]), [['draft', loop.id], ['review', loop.id], ['publish', undefined], ['archive', undefined]]);

    const result = await cli('graph', example('revise-until-approved'));
    assert.equal(result.code, 0, result.stderr);
    const ids = mermaidIds(spec);
    assert.ok(result.stdout.includes(`  ${ids.get('review')} -.->|"output.approved == false · loop, max 3"| ${ids.get('draft')}\n`), result.stdout);
    assert.match(result.stdout, /linkStyle 2 stroke:#455a64,stroke-width:1\.5px,stroke-dasharray:6 4/);

    const dot = renderDot(graph);
    assert.match(dot, /"review" -> "draft" \[label="output.approved == false · loop, max 3", [^\]]*style=dashed, constraint=false\];/);
  });

  it('draws the fan-out of research-fan-out as one node with its list, and the join with its mode', async () => {
    const spec = loadExample('research-fan-out');
    const graph = planGraph(spec);
    const research = graph.nodes.find((n) => n.id === 'research');
    assert.deepEqual(research?.fanOut, { items: 'input.topics', maxItems: 10, maxConcurrency: 3 });
    assert.deepEqual(graph.nodes.find((n) => n.id === 'enough')?.join, { mode: 'atLeast', count: 2 });
    assert.deepEqual(graph.nodes.find((n) => n.id === 'enough')?.ownerKind, 'engine');
    assert.equal(graph.edges.length, spec.edges?.length);

    const result = await cli('graph', example('research-fan-out'));
    assert.equal(result.code, 0, result.stderr);
    const ids = mermaidIds(spec);
    assert.ok(result.stdout.includes(`  ${ids.get('research')}[["Research one topic<br/>research · task · agent:researcher<br/>forEach input.topics (max 10, 3 at once)"]]`), result.stdout);
    assert.ok(result.stdout.includes(`  ${ids.get('enough')}{{"Two of the three branches are enough<br/>enough · join (atLeast 2)"}}`), result.stdout);
    for (const e of spec.edges ?? []) assert.ok(result.stdout.includes(`  ${ids.get(e.from)} --> ${ids.get(e.to)}\n`), `${e.from} → ${e.to}`);
  });

  it('--json prints the model; dot and svg formats; a bad format, an invalid plan and a missing file are refused', async () => {
    const model = await cli('graph', example('blog-post'), '--json');
    assert.equal(model.code, 0, model.stderr);
    const parsed = JSON.parse(model.stdout) as PlanGraph;
    assert.deepEqual(parsed, planGraph(loadExample('blog-post')));

    const dot = await cli('graph', example('blog-post'), '--format', 'dot');
    assert.equal(dot.code, 0, dot.stderr);
    assert.match(dot.stdout, /^digraph "blog-post" \{\n/);
    const svg = await cli('graph', example('blog-post'), '--format', 'svg');
    assert.equal(svg.code, 0, svg.stderr);
    assert.match(svg.stdout, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<svg /);

    const bad = await cli('graph', example('blog-post'), '--format', 'dor');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /"dor" is not a graph format \(did you mean "dot"\?\); use one of: mermaid, dot, svg/);

    // The same problems `validate` lists, one `path: message` line each.
    const broken = path.resolve(__dirname, '../../../test/fixtures/broken.plan.yaml');
    const invalid = await cli('graph', broken);
    const validate = await cli('validate', broken);
    assert.equal(invalid.code, 1);
    assert.equal(invalid.stdout, '', 'no graph of an invalid plan');
    const problems = validate.stdout.trim().split('\n');
    assert.ok(problems.length >= 2);
    for (const line of problems) assert.ok(invalid.stderr.includes(line), `${line} in:\n${invalid.stderr}`);
    const invalidJson = await cli('graph', broken, '--json');
    assert.equal(invalidJson.code, 1);
    assert.equal(JSON.parse(invalidJson.stdout).errors.length, problems.length);

    const missing = await cli('graph', path.join(EXAMPLES, 'no-such.plan.yaml'));
    assert.equal(missing.code, 1, 'a missing .yaml is a missing file, not a run id');
    assert.match(missing.stderr, /no-such\.plan\.yaml: no such file/);
  });

  it('an argument that is no existing file is a run id (read from Temporal)', async () => {
    const result = await cli('graph', 'some-run-id', '--address', '127.0.0.1:1');
    assert.equal(result.code, 3, 'it tried to reach Temporal');
    assert.match(result.stderr, /127\.0\.0\.1:1/);
  });
});

describe('edge states of a run', () => {
  it('blog-post, rejected: approve → archive taken, → publish inactive, publish → announce skipped', () => {
    const spec = loadExample('blog-post');
    const d = new Driver(spec, { topic: 'graphs' });
    const [start] = bothGraphs(spec, d.state);
    assert.deepEqual(edgeStates(start), {
      'research->draft': 'pending',
      'draft->approve': 'pending',
      'approve->publish': 'pending',
      'publish->announce': 'pending',
      'approve->archive': 'pending',
    });
    assert.equal(start.nodes[0].status, 'running');
    assert.deepEqual(start.run, { runId: 'run-1', status: 'running', specVersion: 1 });

    d.submit('research', { summary: 'Graphs are drawn from the same model.', sources: ['a', 'b', 'c'] });
    d.submit('draft', { title: 'T', body: 'B' });
    const [waiting, waitingSnap] = bothGraphs(spec, d.state);
    for (const graph of [waiting, waitingSnap]) {
      assert.equal(edgeStates(graph)['research->draft'], 'taken');
      assert.equal(edgeStates(graph)['draft->approve'], 'taken');
      assert.equal(edgeStates(graph)['approve->publish'], 'pending');
      assert.equal(graph.nodes.find((n) => n.id === 'approve')?.status, 'awaiting-human');
    }

    d.respond('approve', { approved: false }, 'alice');
    for (const graph of bothGraphs(spec, d.state)) {
      assert.deepEqual(edgeStates(graph), {
        'research->draft': 'taken',
        'draft->approve': 'taken',
        'approve->publish': 'inactive',
        'publish->announce': 'skipped',
        'approve->archive': 'taken',
      });
      assert.deepEqual(
        graph.nodes.map((n) => [n.id, n.status]),
        [['research', 'completed'], ['draft', 'completed'], ['approve', 'completed'], ['publish', 'skipped'], ['announce', 'skipped'], ['archive', 'running']],
      );
    }
    // Statuses are Mermaid classes; edge states link styles (taken: green, inactive: dashed, skipped: dotted).
    const mermaid = renderMermaid(planGraph(spec, d.state));
    assert.match(mermaid, /classDef st_completed fill:#e8f5e9,stroke:#2e7d32,color:#1b5e20\n  class n0,n1,n2 st_completed\n/);
    assert.match(mermaid, /class n3,n4 st_skipped\n/);
    assert.match(mermaid, /class n5 st_running\n/);
    assert.match(mermaid, /linkStyle 2 stroke:#9e9e9e,stroke-width:1\.5px,stroke-dasharray:6 4\n/);
    assert.match(mermaid, /linkStyle 3 stroke:#bdbdbd,stroke-width:1\.5px,stroke-dasharray:2 3\n/);
    assert.match(mermaid, /linkStyle 4 stroke:#2e7d32,stroke-width:2\.5px\n/);
    const dot = renderDot(planGraph(spec, d.state));
    assert.match(dot, /"approve" -> "publish" \[label="output.approved == true", color="#9e9e9e", fontcolor="#9e9e9e", penwidth=1.5, style=dashed\];/);
    assert.match(dot, /"publish" \[label="Publish the post\\npublish · task · agent:publisher\\nskipped", shape=box, style="filled,dashed"/);
  });

  it('revise-until-approved: the loop edge is taken with its iteration, then inactive once approved', () => {
    const spec = loadExample('revise-until-approved');
    const d = new Driver(spec, { topic: 'loops' });
    d.submit('draft', { title: 'T', body: 'B' });
    d.respond('review', { approved: false, requiredEdits: ['shorter'] }, 'alice');
    for (const graph of bothGraphs(spec, d.state)) {
      const loop = graph.edges.find((e) => e.kind === 'loop');
      assert.equal(loop?.state, 'taken', 'it sent the run round');
      assert.equal(loop?.loop?.iteration, 2);
      assert.equal(edgeStates(graph)['draft->review'], 'pending', 'the body runs again');
      assert.equal(edgeStates(graph)['review->archive'], 'pending');
      const draft = graph.nodes.find((n) => n.id === 'draft');
      assert.deepEqual([draft?.status, draft?.iteration, draft?.maxIterations], ['running', 2, 3]);
    }
    assert.match(renderMermaid(planGraph(spec, d.state)), /-\.->\|"output\.approved == false · loop: iteration 2 of 3"\|/);
    assert.match(renderDot(planGraph(spec, d.state)), /"review" -> "draft" \[label="output.approved == false · loop: iteration 2 of 3", color="#2e7d32"/);

    d.submit('draft', { title: 'T2', body: 'B2' });
    d.respond('review', { approved: true }, 'alice');
    for (const graph of bothGraphs(spec, d.state)) {
      assert.deepEqual(edgeStates(graph), {
        'draft->review': 'taken',
        'review->publish': 'taken',
        'review->draft': 'inactive',
        'review->archive': 'inactive',
      });
      assert.equal(graph.edges.find((e) => e.kind === 'loop')?.loop?.iteration, 2);
    }
  });

  it('research-fan-out: instances counted and capped, the losing branch of the join inactive', () => {
    const spec = loadExample('research-fan-out');
    const d = new Driver(spec, { question: 'why graphs?' });
    d.submit('planner', { topics: ['a', 'b', 'c', 'd', 'e'] });
    const graph = planGraph(spec, d.state, { maxInstances: 2 });
    const fan = graph.nodes.find((n) => n.id === 'research')?.fanOut;
    assert.ok(fan);
    assert.equal(fan.count, 5);
    assert.equal(fan.range, 'research[0..4]');
    assert.deepEqual(fan.instances?.map((i) => i.id), ['research[0]', 'research[1]']);
    assert.equal(fan.unlisted, 3);
    assert.equal(Object.values(fan.statusCounts ?? {}).reduce((a, b) => a + b, 0), 5);
    assert.deepEqual(fan.statusCounts, { running: 3, ready: 2 }, 'forEach.maxConcurrency 3');
    assert.match(renderMermaid(graph), /research\[0\.\.4\]: 3 running · 2 ready/);
    assert.equal(graph.nodes.length, spec.nodes.length, 'instances are not nodes');

    d.submit('specialist', { summary: 'A specialist view.' });
    d.submit('search', { summary: 'Recent sources.' });
    for (const g of bothGraphs(spec, d.state)) {
      assert.equal(g.nodes.find((n) => n.id === 'research')?.status, 'cancelled', 'the join went ahead without it');
      assert.deepEqual(edgeStates(g), {
        'planner->research': 'taken',
        'planner->specialist': 'taken',
        'planner->search': 'taken',
        'research->enough': 'inactive',
        'specialist->enough': 'taken',
        'search->enough': 'taken',
        'enough->write': 'taken',
      });
    }
  });

  it('a cancelled run: edges out of cancelled nodes are skipped (never evaluated)', () => {
    const spec = loadExample('blog-post');
    const d = new Driver(spec, { topic: 'graphs' });
    d.take(ok(cancelRun(d.state, { by: 'alice', reason: 'not needed' }, d.now())));
    for (const graph of bothGraphs(spec, d.state)) {
      assert.equal(graph.run?.status, 'aborted');
      assert.equal(graph.nodes[0].status, 'cancelled');
      assert.equal(edgeStates(graph)['research->draft'], 'skipped');
      assert.equal(edgeStates(graph)['draft->approve'], 'pending');
    }
  });

  it('conditions on a node input: exact from the state; from a snapshot, inferred from the target or unknown', () => {
    // a → b (only edge into b) and a → d, b → d: both edges from a read a's input.
    const spec = plan(
      [task('a'), task('b'), task('d')],
      [edge('a', 'b', { when: 'input.go == true' }), edge('a', 'd', { when: 'input.go == true' }), edge('b', 'd')],
    );
    const d = new Driver(spec, { go: true });
    d.submit('a', {});
    const [exact, snap] = bothGraphs(spec, d.state);
    assert.deepEqual(edgeStates(exact), { 'a->b': 'taken', 'a->d': 'taken', 'b->d': 'pending' });
    assert.deepEqual(edgeStates(snap), { 'a->b': 'taken', 'a->d': 'unknown', 'b->d': 'pending' });

    const off = new Driver(spec, { go: false });
    off.submit('a', {});
    const [exactOff, snapOff] = bothGraphs(spec, off.state);
    assert.deepEqual(edgeStates(exactOff), { 'a->b': 'inactive', 'a->d': 'inactive', 'b->d': 'skipped' });
    assert.deepEqual(edgeStates(snapOff), { 'a->b': 'inactive', 'a->d': 'inactive', 'b->d': 'skipped' }, 'b and d skipped: inferred');
  });

  it('a plan without a run has no statuses or states; an edge to a missing node throws', () => {
    const graph = planGraph(loadExample('blog-post'));
    assert.ok(graph.nodes.every((n) => n.status === undefined));
    assert.ok(graph.edges.every((e) => e.state === undefined));
    assert.equal(graph.run, undefined);
    assert.throws(() => planGraph(plan([task('a')], [edge('a', 'ghost')])), /names node "ghost"/);
  });
});

// ---- Hostile ids and labels ------------------------------------------------------------------------

/** Ids and texts an LLM might write to break out of a label (the graph is drawn before validation too). */
const HOSTILE_ID = 'a"]-->b[<script>x</script>';
const HOSTILE_LABEL = 'T "quoted" ]) --> e["x"]\n%% c\n<script>alert(1)</script>';
/** A label that is under the 60 characters a label line keeps (so none of it is cut off). */
const HOSTILE_LABEL_2 = '& #quot; `md` | pipe; {b} \u0007bell \u202Ertl \\n "q"';
const HOSTILE_WHEN = 'output.x == "a"]) --> z | <b>bold</b>\nnext';
function hostileGraph(): PlanGraph {
  const spec = {
    id: 'evil"plan',
    title: 'Evil <title> & "plan"\nline two',
    nodes: [
      { id: HOSTILE_ID, type: 'task', label: HOSTILE_LABEL, owner: { kind: 'agent', ref: 'x"><script>' } },
      { id: 'end', type: 'task', owner: { kind: 'agent', ref: 'w' } },
      { id: 'style', type: 'human-approval', owner: { kind: 'human', ref: 'h' }, label: HOSTILE_LABEL_2 },
    ],
    edges: [
      { from: HOSTILE_ID, to: 'end', when: HOSTILE_WHEN },
      { from: 'end', to: 'style' },
      { from: 'style', to: HOSTILE_ID, when: 'output.again == true', loop: { maxIterations: 2 } },
    ],
  } as unknown as PlanSpec;
  return planGraph(spec);
}

describe('escaping of hostile ids and labels', () => {
  it('mermaid: generated ids, one statement per line, nothing ends a quote or opens markup', () => {
    const graph = hostileGraph();
    const text = renderMermaid(graph);
    const lines = text.trimEnd().split('\n');
    assert.equal(lines[0], 'flowchart TD');
    const nodeLines = lines.slice(1, 1 + graph.nodes.length);
    const edgeLines = lines.slice(1 + graph.nodes.length, 1 + graph.nodes.length + graph.edges.length);
    assert.equal(lines.length, 1 + graph.nodes.length + graph.edges.length + 1, 'no newline got through: only the loop edge linkStyle follows');
    for (const [i, line] of nodeLines.entries()) {
      assert.match(line, new RegExp(`^  n${i}(\\["[^"]*"\\]|\\("[^"]*"\\))$`), line);
    }
    for (const line of edgeLines) assert.match(line, /^  n\d (-->|-\.->)(\|"[^"|]*"\|)? n\d$/, line);
    assert.ok(!/<script|<b>|<title/i.test(text), 'no raw markup');
    assert.ok(!text.includes('%%'), 'no comment');
    assert.ok(!text.includes('`'), 'no markdown string');
    assert.ok(!/\u0007|\u202E/.test(text), 'no control or bidi characters');
    assert.ok(text.includes('#34;quoted#34;'), 'quotes as entity codes');
    assert.ok(text.includes('#35;quot#59;'), 'a written entity stays text');
    assert.ok(text.includes('--#62;'), 'an arrow in a label is text');
    assert.equal(escapeMermaidText('<script>'), '#60;script#62;');
  });

  it('dot: every id and label is one quoted string', () => {
    const text = renderDot(hostileGraph());
    const lines = text.trimEnd().split('\n');
    const quoted = '"(?:[^"\\\\\\n]|\\\\.)*"';
    const attrs = `(?: \\[(?:[a-z]+=(?:${quoted}|[0-9.]+|[A-Za-z]+)(?:, )?)+\\])?`;
    assert.match(lines[0], new RegExp(`^digraph ${quoted} \\{$`));
    assert.equal(lines.at(-1), '}');
    const statement = new RegExp(`^  (?:${quoted}(?: -> ${quoted})?|graph|node|edge)${attrs};$`);
    for (const line of lines.slice(1, -1)) assert.match(line, statement, line);
    assert.equal(lines.length, 1 + 3 + 3 + 3 + 1, 'one line per statement: no newline got through');
    assert.ok(text.includes(`"a\\"]-->b[<script>x</script>" -> "end"`), 'ids quoted, quotes escaped');
    assert.ok(text.includes('rtl \\\\n \\"q\\"'), 'a backslash in a label stays a backslash');
    assert.equal(dotString('a"b\\c\nd'), '"a\\"b\\\\c\\nd"');
  });

  it('svg: well-formed, escaped, no script, no foreign elements', async () => {
    const graph = hostileGraph();
    const svg = await renderSvg(graph);
    const tags = checkXml(svg);
    assert.deepEqual(
      [...new Set(tags)].filter((name) => !['svg', 'title', 'defs', 'marker', 'path', 'rect', 'g', 'polyline', 'polygon', 'text', 'tspan'].includes(name)),
      [],
    );
    assert.equal(tags.filter((name) => name === 'g').length, 2 + graph.nodes.length + graph.edges.length);
    assert.ok(!/<script/i.test(svg));
    assert.ok(svg.includes('&lt;script&gt;alert(1)&lt;/script&gt;'), 'the label is text');
    assert.ok(svg.includes(`data-node-id="${escapeXml(HOSTILE_ID)}"`));
    assert.equal(escapeXml('<a href="x">\u0000&\'</a>'), '&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;');
    assert.equal(escapeXml('lone \ud800 surrogate'), 'lone  surrogate');
  });
});

/**
 * A small XML well-formedness check: the declaration, then tags and text only; tags nest and close
 * in order; attribute values are quoted with no `<` or raw quote; text has no `<`, `>` or bare `&`.
 * Returns the element names in document order.
 */
function checkXml(xml: string): string[] {
  const declaration = '<?xml version="1.0" encoding="UTF-8"?>\n';
  assert.ok(xml.startsWith(declaration));
  const body = xml.slice(declaration.length);
  const tag = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g;
  const entity = /&(?:amp|lt|gt|quot|#\d+|#x[0-9a-fA-F]+);/g;
  const stack: string[] = [];
  const names: string[] = [];
  let at = 0;
  for (const match of body.matchAll(tag)) {
    const text = body.slice(at, match.index);
    assert.ok(!/[<>]/.test(text), `stray markup in text: ${JSON.stringify(text)}`);
    assert.ok(!/&/.test(text.replace(entity, '')), `bare & in text: ${JSON.stringify(text)}`);
    for (const value of match[3].matchAll(/="([^"]*)"/g)) assert.ok(!/&/.test(value[1].replace(entity, '')), `bare & in ${value[1]}`);
    const [, closing, name, , selfClosing] = match;
    if (closing) assert.equal(stack.pop(), name, `</${name}> closes what was opened`);
    else {
      names.push(name);
      if (!selfClosing) stack.push(name);
    }
    if (stack.length === 0 && !closing && !selfClosing) assert.equal(name, 'svg');
    at = (match.index as number) + match[0].length;
  }
  assert.equal(body.slice(at).trim(), '', 'nothing after the root');
  assert.deepEqual(stack, [], 'every element is closed');
  assert.equal(names[0], 'svg');
  return names;
}

describe('layout (ELK) and svg', () => {
  it('every node and edge gets a place; layered top to bottom; loop sections run from `from` to `to`', async () => {
    const graph = planGraph(loadExample('revise-until-approved'));
    const layout = await layoutGraph(graph);
    assert.ok(layout.width > 0 && layout.height > 0);
    assert.equal(layout.nodes.length, graph.nodes.length);
    const box = Object.fromEntries(layout.nodes.map((n) => [n.id, n]));
    for (const n of layout.nodes) {
      for (const v of [n.x, n.y, n.width, n.height]) assert.ok(Number.isFinite(v));
      assert.ok(n.x >= 0 && n.y >= 0 && n.x + n.width <= layout.width && n.y + n.height <= layout.height, `${n.id} inside the drawing`);
    }
    for (const [a, b] of [['draft', 'review'], ['review', 'publish'], ['review', 'archive']]) {
      assert.ok(box[a].y + box[a].height <= box[b].y, `${a} above ${b} (direction DOWN)`);
    }
    for (let i = 0; i < layout.nodes.length; i++) {
      for (let j = i + 1; j < layout.nodes.length; j++) {
        const [p, q] = [layout.nodes[i], layout.nodes[j]];
        const apart = p.x + p.width <= q.x || q.x + q.width <= p.x || p.y + p.height <= q.y || q.y + q.height <= p.y;
        assert.ok(apart, `${p.id} and ${q.id} do not overlap`);
      }
    }
    assert.equal(layout.edges.length, graph.edges.length);
    for (const e of layout.edges) assert.ok(e.sections.length > 0, `${e.id} is routed`);
    const near = (p: { x: number; y: number }, n: { x: number; y: number; width: number; height: number }) =>
      p.x >= n.x - 1 && p.x <= n.x + n.width + 1 && p.y >= n.y - 1 && p.y <= n.y + n.height + 1;
    for (const e of layout.edges) {
      const first = e.sections[0].start;
      const last = (e.sections.at(-1) as (typeof e.sections)[number]).end;
      assert.ok(near(first, box[e.edge.from]), `${e.id} starts at ${e.edge.from}`);
      assert.ok(near(last, box[e.edge.to]), `${e.id} ends at ${e.edge.to}`);
    }
    const loop = layout.edges.find((e) => e.edge.kind === 'loop');
    assert.ok(loop?.label && loop.label.text.includes('loop, max 3'), 'the loop label is placed');

    // The SVG draws exactly these positions.
    const svg = await renderSvg(graph);
    checkXml(svg);
    for (const n of layout.nodes) assert.ok(svg.includes(`<rect x="${Math.round(n.x * 100) / 100}" y="${Math.round(n.y * 100) / 100}"`), `${n.id} at its ELK position`);
    assert.equal(svg.match(/<g class="node"/g)?.length, graph.nodes.length);
    assert.equal(svg.match(/<g class="edge"/g)?.length, graph.edges.length);
    assert.ok(svg.includes(`width="${Math.ceil(layout.width)}" height="${Math.ceil(layout.height)}"`));
  });

  it('a run drawn in svg carries statuses and edge states', async () => {
    const spec = loadExample('blog-post');
    const d = new Driver(spec, { topic: 'graphs' });
    d.submit('research', { summary: 'Graphs are drawn from the same model.', sources: ['a', 'b', 'c'] });
    const svg = await renderSvg(planGraph(spec, d.state));
    checkXml(svg);
    assert.match(svg, /<g class="node" data-node-id="research" data-status="completed">/);
    assert.match(svg, /<g class="node" data-node-id="draft" data-status="running">/);
    assert.match(svg, /data-from="research" data-to="draft" data-kind="forward" data-state="taken"/);
    assert.match(svg, /data-from="approve" data-to="publish" data-kind="forward" data-state="pending"/);
  });
});

describe('large plans', () => {
  it('a 1,000-instance fan-out is one node listing 20 instances; a 1,000-node plan lays out in seconds', async () => {
    const spec = plan(
      [task('plan'), task('research', { forEach: { items: 'input.topics', maxItems: 1000 } }), task('write')],
      [edge('plan', 'research', { map: { topics: 'output.topics' } }), edge('research', 'write')],
      { maxConcurrency: 10 },
    );
    const d = new Driver(spec);
    d.submit('plan', { topics: Array.from({ length: 1000 }, (_, i) => `t${i}`) });
    const graph = planGraph(spec, snapshotOf(d.state));
    const fan = graph.nodes[1].fanOut;
    assert.deepEqual([fan?.count, fan?.range, fan?.instances?.length, fan?.unlisted], [1000, 'research[0..999]', 20, 980]);
    assert.deepEqual(fan?.statusCounts, { running: 10, ready: 990 });
    assert.ok(renderMermaid(graph).split('\n').length < 20, 'not a line per instance');

    const nodes = Array.from({ length: 1000 }, (_, i) => task(`n${i}`));
    const big = plan(nodes, nodes.slice(1).map((node, i) => edge(`n${Math.floor(i / 3)}`, node.id)));
    const started = Date.now();
    const layout = await layoutGraph(planGraph(big));
    assert.equal(layout.nodes.length, 1000);
    // About 2 s here; with ELK's model-order option on, it was a minute (MODEL_ORDER_MAX_NODES).
    assert.ok(Date.now() - started < 30_000, `took ${Date.now() - started} ms`);
  });
});

describe("the console's drawing of a large plan (an overview) and its layout thread", () => {
  /** 300 tasks in 30 chains of 10: past OVERVIEW_ABOVE_NODES. */
  const chains = () => {
    const nodes = Array.from({ length: 300 }, (_, i) => task(`c${Math.floor(i / 10)}s${i % 10}`));
    return plan(nodes, nodes.flatMap((node, i) => (i % 10 === 0 ? [] : [edge(nodes[i - 1].id, node.id, { when: 'output.ok == true' })])), { maxConcurrency: 30 });
  };

  it('above OVERVIEW_ABOVE_NODES: no node text and no edge labels, a tooltip per node; below it, every text', async () => {
    const spec = chains();
    const graph = planGraph(spec);
    assert.ok(graph.nodes.length > OVERVIEW_ABOVE_NODES);
    const svg = await renderSvg(graph, consoleDrawing(graph));
    assert.match(svg, /<svg [^>]*data-overview="true"/);
    assert.equal((svg.match(/<g class="node"/g) ?? []).length, 300);
    assert.equal((svg.match(/<text/g) ?? []).length, 0, 'no text at all: neither node lines nor edge labels');
    assert.equal((svg.match(/<title>c\d+s\d: /g) ?? []).length, 300, 'every node keeps its id and title as a tooltip');
    // Every node one size.
    const sizes = new Set([...svg.matchAll(/<rect x="[^"]*" y="[^"]*" width="([^"]*)" height="([^"]*)" rx/g)].map((m) => `${m[1]}x${m[2]}`));
    assert.deepEqual([...sizes], [`${OVERVIEW_NODE_SIZE.width}x${OVERVIEW_NODE_SIZE.height}`]);

    const small = planGraph(plan([task('a'), task('b')], [edge('a', 'b', { when: 'output.ok == true' })]));
    const withText = await renderSvg(small, consoleDrawing(small));
    assert.doesNotMatch(withText, /data-overview/);
    assert.match(withText, /<tspan[^>]*>a<\/tspan>/);
    assert.match(withText, /output\.ok == true/, 'the condition labels its edge');
  });

  it("an overview's layout follows the plan's shape only: statuses, attempts and texts do not move a node", async () => {
    const spec = chains();
    const d = new Driver(spec);
    const before = planGraph(spec, snapshotOf(d.state));
    for (let c = 0; c < 30; c++) d.submit(`c${c}s0`, { ok: true });
    const after = planGraph(spec, snapshotOf(d.state));
    assert.notDeepEqual(before.nodes.map((n) => n.status), after.nodes.map((n) => n.status));
    const relabelled: PlanGraph = { ...after, nodes: after.nodes.map((n, i) => (i === 5 ? { ...n, title: 'a much longer title than any other node has, to change its text' } : n)) };
    const place = async (graph: PlanGraph) => (await layoutGraph(graph, consoleDrawing(graph))).nodes.map((n) => [n.id, n.x, n.y, n.width]);
    const first = await place(before);
    assert.deepEqual(await place(after), first);
    assert.deepEqual(await place(relabelled), first);
  });

  it('LayoutThread lays out in a worker thread, as ELK in this thread does; once closed it refuses with a reason', async () => {
    const spec = plan([task('a'), task('b'), task('c')], [edge('a', 'b'), edge('a', 'c')]);
    const thread = new LayoutThread();
    try {
      // Options of their own, so that the layout cache (shared by both) cannot answer the second.
      const inThread = await layoutGraph(planGraph(spec), { elkOptions: { 'elk.spacing.nodeNode': '37' } });
      const offThread = await layoutGraph(planGraph(spec), { engine: thread, elkOptions: { 'elk.spacing.nodeNode': '37.0' } });
      assert.deepEqual(offThread.nodes.map((n) => [n.id, n.x, n.y]), inThread.nodes.map((n) => [n.id, n.x, n.y]));
      assert.ok(offThread.nodes[1].y > offThread.nodes[0].y, 'b is laid out below a');
    } finally {
      await thread.close();
    }
    await assert.rejects(thread.layout({ id: 'g', children: [] }), /the console is closing: its layout thread is stopped/);
  });
});

test('the CLI help lists graph', async () => {
  const help = await cli('--help');
  assert.match(help.stdout, /graph \[options\] <file-or-run>/);
});
