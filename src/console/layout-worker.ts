/**
 * The console's layout thread (started by `LayoutThread`): lays out each graph it is sent with ELK
 * and sends back the result, or ELK's error message, under the same id.
 */
import { parentPort } from 'node:worker_threads';
import ELK from 'elkjs/lib/elk.bundled.js';
import type { ElkNode } from 'elkjs/lib/elk-api';
import type { LayoutReply } from './layout-thread';

const elk = new ELK();
const port = parentPort;
if (!port) throw new Error('layout-worker.js runs as a worker thread of the console (LayoutThread), not on its own');

port.on('message', (message: { id: number; root: ElkNode }) => {
  elk.layout(message.root).then(
    (result) => port.postMessage({ id: message.id, result } satisfies LayoutReply),
    (error: unknown) => port.postMessage({ id: message.id, error: error instanceof Error ? error.message : String(error) } satisfies LayoutReply),
  );
});
