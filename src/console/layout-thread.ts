/**
 * ELK in a worker thread of its own, for the console. elkjs is synchronous JavaScript: laid out in
 * the console's thread, a 1,000-node plan (about half a second) held up every other request, so
 * every viewer's poll waited while one person opened a large plan. Here the thread lays out and the
 * console keeps answering.
 *
 * The thread is started with the console and warmed up with a small layout of the shape plans have
 * (chains, a join), so that the first real layout does not also pay for ELK's code being compiled.
 * If the thread dies, every layout it held fails with the reason and the next one starts a new
 * thread.
 */
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { ElkNode } from 'elkjs/lib/elk-api';
import type { LayoutEngine } from '../graph/layout';

interface Waiting {
  resolve(node: ElkNode): void;
  reject(error: Error): void;
}

/** What the thread sends back for layout `id`: the laid-out graph or ELK's error message. */
export interface LayoutReply {
  id: number;
  result?: ElkNode;
  error?: string;
}

/** A layout engine (`LayoutOptions.engine`) that runs ELK in a worker thread. */
export class LayoutThread implements LayoutEngine {
  private worker: Worker | undefined;
  private readonly waiting = new Map<number, Waiting>();
  private nextId = 0;
  private closed = false;

  /** Starts the thread now, and warms ELK up in it. */
  constructor() {
    void this.layout(warmUpGraph(300)).catch(() => undefined);
  }

  layout(root: ElkNode): Promise<ElkNode> {
    if (this.closed) return Promise.reject(new Error('the console is closing: its layout thread is stopped'));
    const worker = this.start();
    const id = ++this.nextId;
    return new Promise<ElkNode>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      worker.postMessage({ id, root });
    });
  }

  /** Stops the thread; layouts still waiting fail. */
  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = undefined;
    this.failAll(new Error('the console is closing: its layout thread is stopped'));
    await worker?.terminate();
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(path.join(__dirname, 'layout-worker.js'));
    // A console with nothing to lay out may still exit: the thread does not hold the process open.
    worker.unref();
    worker.on('message', (reply: LayoutReply) => {
      const waiting = this.waiting.get(reply.id);
      if (!waiting) return;
      this.waiting.delete(reply.id);
      if (reply.result) waiting.resolve(reply.result);
      else waiting.reject(new Error(`ELK could not lay the graph out: ${reply.error ?? 'no reason given'}`));
    });
    const lost = (error: Error) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      this.failAll(error);
    };
    worker.on('error', (error) => lost(new Error(`the layout thread failed: ${error.message}`)));
    worker.on('exit', (code) => lost(new Error(`the layout thread exited (code ${code})`)));
    this.worker = worker;
    return worker;
  }

  private failAll(error: Error): void {
    const waiting = [...this.waiting.values()];
    this.waiting.clear();
    for (const entry of waiting) entry.reject(error);
  }
}

/** `chains` chains of five nodes joined at the end: the kinds of edges ELK routes in real plans. */
function warmUpGraph(chains: number): ElkNode {
  const children: ElkNode[] = [{ id: 'end', width: 140, height: 52 }];
  const edges: NonNullable<ElkNode['edges']> = [];
  for (let c = 0; c < chains / 5; c++) {
    for (let i = 0; i < 5; i++) {
      children.push({ id: `c${c}n${i}`, width: 140 + ((c * 7 + i) % 5) * 20, height: 52 });
      edges.push({ id: `c${c}e${i}`, sources: [`c${c}n${i}`], targets: [i < 4 ? `c${c}n${i + 1}` : 'end'] });
    }
  }
  return { id: 'warm-up', layoutOptions: { 'elk.algorithm': 'layered', 'elk.direction': 'DOWN', 'elk.edgeRouting': 'ORTHOGONAL' }, children, edges };
}
