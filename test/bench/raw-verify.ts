import { once } from 'node:events';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Rate } from './emit';
import { cpuMs, note, rate, since } from './progress';

/** What one raw-verify worker gets: its share of the pairs, packed into transferable buffers. */
export interface RawVerifyJob {
  /** SPKI DER of the Ed25519 public key. */
  readonly publicKey: Uint8Array;
  /** All messages back to back; message i is messages[offsets[i] .. offsets[i + 1]). */
  readonly messages: Uint8Array<ArrayBuffer>;
  readonly offsets: Uint32Array<ArrayBuffer>;
  /** 64 bytes per signature. */
  readonly signatures: Uint8Array<ArrayBuffer>;
}

export interface RawVerifyDone {
  readonly valid: number;
}

export interface Pair {
  readonly message: Uint8Array;
  readonly signature: Uint8Array;
}

function pack(pairs: readonly Pair[], publicKey: Uint8Array): RawVerifyJob {
  const offsets = new Uint32Array(pairs.length + 1);
  pairs.forEach((p, i) => (offsets[i + 1] = (offsets[i] as number) + p.message.length));
  const messages = new Uint8Array(offsets[pairs.length] as number);
  const signatures = new Uint8Array(pairs.length * 64);
  pairs.forEach((p, i) => {
    messages.set(p.message, offsets[i]);
    signatures.set(p.signature, i * 64);
  });
  return { publicKey: Uint8Array.from(publicKey), messages, offsets, signatures };
}

/**
 * Raw node:crypto baseline: `threads` workers each verify an equal share of the precomputed
 * pairs. Timed from "go" (every worker started and holding its data) until the last is done.
 */
export async function measureRawVerify(
  pairs: readonly Pair[],
  publicKeySpki: Uint8Array,
  threads: number,
): Promise<Rate & { readonly valid: number }> {
  const share = Math.ceil(pairs.length / threads);
  const workers = Array.from({ length: threads }, (_, t) => {
    const job = pack(pairs.slice(t * share, (t + 1) * share), publicKeySpki);
    return new Worker(join(__dirname, 'raw-verify-worker.js'), {
      workerData: job,
      transferList: [job.messages.buffer, job.offsets.buffer, job.signatures.buffer],
    });
  });
  try {
    await Promise.all(workers.map((w) => once(w, 'message')));
    note(`raw verify: ${threads} workers ready, verifying ${pairs.length} signatures`);
    const start = performance.now();
    const cpu = cpuMs();
    const done = workers.map((w) => once(w, 'message') as Promise<[RawVerifyDone]>);
    for (const w of workers) w.postMessage('go');
    const results = await Promise.all(done);
    const ms = since(start);
    const cores = (cpuMs() - cpu) / ms;
    return { ms, rate: rate(pairs.length, ms), cores, valid: results.reduce((sum, [r]) => sum + r.valid, 0) };
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
