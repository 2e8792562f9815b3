import { createPrivateKey, randomBytes, sign } from 'node:crypto';
import type { StoredReceipt } from '@governor/contracts';
import type { ChainHead } from '@governor/receipts';
import { append, fieldsAt, startChain } from './fixture';
import { cpuMs, progress, rate, since } from './progress';

export interface Rate {
  readonly ms: number;
  /** Items per second. */
  readonly rate: number;
  /** Process CPU time over wall time: 1 is one core kept busy. Lower than expected means a busy machine. */
  readonly cores: number;
}

export interface Emitted {
  /** appendReceipt on one chain: schema validation, canonicalisation, hashes, Merkle append, signature. */
  readonly emit: Rate;
  /** Raw node:crypto Ed25519 signing of a 500-byte message, as many times. */
  readonly rawSign: Rate;
  readonly records: StoredReceipt[];
  readonly head: ChainHead;
}

const WARMUP = 2_000;
const ROUNDS = 10;
const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');

/**
 * Emits a `count`-receipt chain and signs as many raw messages, alternating the two in ten
 * rounds so a machine that speeds up or slows down during the run affects both alike. The
 * fields are made beforehand, so only appendReceipt is timed.
 */
export function measureEmit(count: number): Emitted {
  const key = createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519, randomBytes(32)]),
    format: 'der',
    type: 'pkcs8',
  });
  const message = randomBytes(500);
  let warm = startChain();
  for (let i = 0; i < WARMUP; i++) {
    sign(null, message, key);
    warm = append(warm, fieldsAt(i), i).head;
  }

  const fields = Array.from({ length: count }, (_, i) => fieldsAt(i));
  const records = new Array<StoredReceipt>(count);
  const tick = progress('raw sign + emit', count);
  let head = startChain();
  let signMs = 0;
  let signCpu = 0;
  let emitMs = 0;
  let emitCpu = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const lo = Math.floor((round * count) / ROUNDS);
    const hi = Math.floor(((round + 1) * count) / ROUNDS);
    let start = performance.now();
    let cpu = cpuMs();
    for (let i = lo; i < hi; i++) {
      message[0] = i & 0xff;
      sign(null, message, key);
    }
    signMs += since(start);
    signCpu += cpuMs() - cpu;
    start = performance.now();
    cpu = cpuMs();
    for (let i = lo; i < hi; i++) {
      const appended = append(head, fields[i] as (typeof fields)[number], i);
      records[i] = appended.record;
      head = appended.head;
    }
    emitMs += since(start);
    emitCpu += cpuMs() - cpu;
    tick(hi);
  }
  return {
    emit: { ms: emitMs, rate: rate(count, emitMs), cores: emitCpu / emitMs },
    rawSign: { ms: signMs, rate: rate(count, signMs), cores: signCpu / signMs },
    records,
    head,
  };
}
