/**
 * A real HTTP receiver for delivery tests. Every request is verified with the `standardwebhooks`
 * library (the reference implementation, not our signing code), recorded in arrival order, and
 * answered according to the receiver's current behaviour: accept, fail (HTTP 500), or gone (410).
 * It can also be taken down (port closed) and brought back on the same port.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

export interface ReceivedRequest {
  id: string;
  path: string;
  body: any;
  /** What the receiver answered. */
  status: number;
  verified: boolean;
}

export function newSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}

export class WebhookReceiver {
  readonly secret = newSecret();
  readonly requests: ReceivedRequest[] = [];
  /** Answer 500 to this many requests before accepting. */
  failNext = 0;
  /** Answer 410 Gone to everything. */
  gone = false;
  private server?: http.Server;
  port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }

  async start(port = this.port): Promise<this> {
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        let verified = false;
        try {
          new Webhook(this.secret).verify(raw, req.headers as Record<string, string>);
          verified = true;
        } catch {
          verified = false;
        }
        let status = 204;
        if (!verified) status = 401;
        else if (this.gone) status = 410;
        else if (this.failNext > 0) {
          this.failNext -= 1;
          status = 500;
        }
        this.requests.push({ id: String(req.headers['webhook-id']), path: req.url ?? '', body: safeJson(raw), status, verified });
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this;
  }

  /** Takes the receiver down: the port refuses connections until `start()` again. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Accepted deliveries of one run's events, in arrival order (duplicates included). */
  accepted(runId: string): ReceivedRequest[] {
    return this.requests.filter((r) => r.status < 300 && r.body?.event?.runId === runId);
  }

  /** The distinct event seqs accepted for a run, sorted. */
  acceptedSeqs(runId: string): number[] {
    return [...new Set(this.accepted(runId).map((r) => r.body.event.seq as number))].sort((a, b) => a - b);
  }
}

function safeJson(raw: string): any {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/** A port nothing listens on (bound and released), for an unreachable endpoint. */
export async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Per-run order: every accepted delivery of seq n comes after at least one accepted delivery of
 * each seq below n. Returns the first violation, or undefined.
 */
export function orderViolation(requests: ReceivedRequest[]): string | undefined {
  const seen = new Set<number>();
  for (const request of requests) {
    const seq = request.body.event.seq as number;
    for (let earlier = 1; earlier < seq; earlier++) {
      if (!seen.has(earlier)) return `event ${seq} arrived before event ${earlier}`;
    }
    seen.add(seq);
  }
  return undefined;
}
