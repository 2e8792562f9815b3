import { createPublicKey, verify } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import type { RawVerifyDone, RawVerifyJob } from './raw-verify';

// Raw baseline worker: builds its (message, signature) views, says it is ready, then on "go"
// verifies them all with node:crypto and reports how many were valid.
const port = parentPort;
if (port === null) throw new Error('raw-verify-worker runs as a worker thread');
const job = workerData as RawVerifyJob;
const key = createPublicKey({ key: Buffer.from(job.publicKey), format: 'der', type: 'spki' });
const count = job.offsets.length - 1;
const messages = Array.from({ length: count }, (_, i) =>
  job.messages.subarray(job.offsets[i] as number, job.offsets[i + 1] as number),
);
const signatures = Array.from({ length: count }, (_, i) => job.signatures.subarray(i * 64, (i + 1) * 64));

port.once('message', () => {
  let valid = 0;
  for (let i = 0; i < count; i++) {
    if (verify(null, messages[i] as Uint8Array, key, signatures[i] as Uint8Array)) valid += 1;
  }
  const done: RawVerifyDone = { valid };
  port.postMessage(done);
});
port.postMessage('ready');
