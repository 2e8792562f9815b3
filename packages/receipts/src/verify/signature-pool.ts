import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import type { KeyObject } from 'node:crypto';
import { pae, publicKeyFromRaw, verifyBytes } from '../signature';

// The worker is plain JavaScript kept inline, so it runs the same from dist/, under ts-node or
// under jest without a build step or a path to a compiled file.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createPublicKey, verify } = require('node:crypto');
const SPKI = Buffer.from('302a300506032b6570032100', 'hex');
const keys = new Map(workerData.keys.map(([id, raw]) => [id, createPublicKey({ key: Buffer.concat([SPKI, Buffer.from(raw, 'base64')]), format: 'der', type: 'spki' })]));
const type = Buffer.from(workerData.payloadType);
const head = Buffer.from('DSSEv1 ' + type.length + ' ');
parentPort.on('message', ({ id, keyIds, bodies, signatures }) => {
  const bad = [];
  for (let i = 0; i < bodies.length; i++) {
    const body = Buffer.from(bodies[i], 'utf8');
    const sig = Buffer.from(signatures[i], 'base64');
    const msg = Buffer.concat([head, type, Buffer.from(' ' + body.length + ' '), body]);
    let ok = false;
    try { ok = sig.length === 64 && verify(null, msg, keys.get(keyIds[i]), sig); } catch { ok = false; }
    if (!ok) bad.push(i);
  }
  parentPort.postMessage({ id, bad });
});
`;

interface Batch {
  keyIds: string[];
  bodies: string[];
  signatures: string[];
  tags: number[];
}

/** What the verifier needs of a signature checker. */
export interface SignatureChecker {
  add(keyId: string, body: string, signature: string, tag: number): Promise<void>;
  drain(): Promise<void>;
  close(): Promise<void>;
}

/** Checks on the calling thread: for small inputs, where starting workers costs more than it saves. */
export class InlineSignatureChecker implements SignatureChecker {
  private readonly keys: Map<string, KeyObject>;
  constructor(
    keys: readonly (readonly [keyId: string, rawBase64: string])[],
    private readonly payloadType: string,
    private readonly onInvalid: (tag: number) => void,
  ) {
    this.keys = new Map(keys.map(([id, raw]) => [id, publicKeyFromRaw(Buffer.from(raw, 'base64'))]));
  }
  add(keyId: string, body: string, signature: string, tag: number): Promise<void> {
    const key = this.keys.get(keyId);
    if (!key || !verifyBytes(key, pae(this.payloadType, body), Buffer.from(signature, 'base64')))
      this.onInvalid(tag);
    return Promise.resolve();
  }
  drain(): Promise<void> {
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * Verifies receipt signatures on worker threads, in batches, with bounded work in flight so a
 * streaming verifier's memory stays flat however long the chain.
 */
export class SignaturePool implements SignatureChecker {
  private readonly workers: Worker[];
  private readonly waiting = new Map<number, (bad: number[]) => void>();
  private readonly inFlight: Promise<void>[] = [];
  private batch: Batch = { keyIds: [], bodies: [], signatures: [], tags: [] };
  private nextId = 0;
  private next = 0;
  private failure: Error | undefined;
  private closing = false;
  private readonly rejecters = new Map<number, (e: Error) => void>();

  constructor(
    keys: readonly (readonly [keyId: string, rawBase64: string])[],
    payloadType: string,
    private readonly onInvalid: (tag: number) => void,
    threads = Math.max(1, Math.min(availableParallelism(), 8)),
    private readonly batchSize = 256,
  ) {
    this.workers = Array.from({ length: threads }, () => {
      const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { keys, payloadType } });
      w.on('message', ({ id, bad }: { id: number; bad: number[] }) => {
        this.waiting.get(id)?.(bad);
        this.waiting.delete(id);
        this.rejecters.delete(id);
      });
      // A dead worker would leave its batches unanswered forever: fail the pool instead, so
      // drain() throws and nothing is reported valid that was not checked.
      w.on('error', (e) => this.fail(e));
      w.on('exit', (code) => {
        if (!this.closing) this.fail(new Error(`signature worker exited with code ${code}`));
      });
      return w;
    });
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const reject of this.rejecters.values()) reject(this.failure);
    this.rejecters.clear();
    this.waiting.clear();
  }

  /** Queues one check; resolves once there is room for more work. */
  async add(keyId: string, body: string, signature: string, tag: number): Promise<void> {
    if (this.failure) throw this.failure;
    const b = this.batch;
    b.keyIds.push(keyId);
    b.bodies.push(body);
    b.signatures.push(signature);
    b.tags.push(tag);
    if (b.bodies.length >= this.batchSize) await this.dispatch();
  }

  private async dispatch(): Promise<void> {
    const b = this.batch;
    if (b.bodies.length === 0) return;
    this.batch = { keyIds: [], bodies: [], signatures: [], tags: [] };
    const id = this.nextId++;
    const worker = this.workers[this.next++ % this.workers.length] as Worker;
    const answered = new Promise<number[]>((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      this.waiting.set(id, resolve);
      this.rejecters.set(id, reject);
      worker.postMessage({ id, keyIds: b.keyIds, bodies: b.bodies, signatures: b.signatures });
    }).then((bad) => bad.forEach((i) => this.onInvalid(b.tags[i] as number)));
    // Rejections surface in drain(); this branch only keeps them from being unhandled meanwhile.
    answered.catch(() => undefined);
    this.inFlight.push(answered);
    // Two batches per worker keep every thread busy without letting a fast reader run ahead.
    if (this.inFlight.length > this.workers.length * 2) await this.inFlight.shift();
    if (this.failure) throw this.failure;
  }

  /** Waits for every queued check; throws if a worker died (results would be incomplete). */
  async drain(): Promise<void> {
    await this.dispatch();
    await Promise.all(this.inFlight.splice(0));
    if (this.failure) throw this.failure;
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
