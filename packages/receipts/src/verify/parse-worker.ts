import { parentPort, workerData } from 'node:worker_threads';
import { publicKeyFromRaw } from '../signature';
import { checkLine } from './line-check';

// A verifier's worker thread: checks each line of a batch it is sent (parse, schema, hash,
// signature) and answers with the outcomes, in order.
const port = parentPort;
if (port === null) throw new Error('parse-worker runs as a worker thread');
const { keys } = workerData as { keys: readonly (readonly [string, string])[] };
const byId = new Map(keys.map(([id, raw]) => [id, publicKeyFromRaw(Buffer.from(raw, 'base64'))]));
port.on('message', ({ id, lines }: { id: number; lines: string[] }) => {
  port.postMessage({ id, outcomes: lines.map((line) => checkLine(line, byId)) });
});
