import { pae, publicKeyFromRaw, RECEIPT_PAYLOAD_TYPE } from '@governor/receipts';
import type { BenchArgs } from './args';
import { measureEmit, type Emitted, type Rate } from './emit';
import { checkpointAt, SIGNER } from './fixture';
import { measureMemory, type MemoryResult } from './million';
import { note } from './progress';
import { measureRawVerify, type Pair } from './raw-verify';
import { measureVerify, type Verified } from './verify';

/** Two runs of one measurement as one: total items over total time. */
export interface Pooled<T extends Rate> extends Rate {
  readonly runs: readonly [T, T];
}

function pooled<T extends Rate>(a: T, b: T): Pooled<T> {
  const ms = a.ms + b.ms;
  const weighted = (f: (r: T) => number): number => (f(a) * a.ms + f(b) * b.ms) / ms;
  return { ms, rate: weighted((r) => r.rate), cores: weighted((r) => r.cores), runs: [a, b] };
}

export interface Measurements {
  readonly rawSign: Rate;
  readonly emit: Rate;
  readonly rawVerify: Pooled<Rate & { readonly valid: number }>;
  readonly full: Verified;
  readonly checkpoint: Pooled<Verified>;
  readonly memory: MemoryResult | null;
}

interface Chain {
  readonly lines: string[];
  readonly pairs: Pair[];
  readonly checkpoint: string;
}

/** What the verifiers read (JSONL lines), and what the raw baseline verifies (DSSE message, signature). */
function chainOf(emitted: Emitted): Chain {
  return {
    lines: emitted.records.map((r) => JSON.stringify(r)),
    pairs: emitted.records.map((r) => ({
      message: pae(RECEIPT_PAYLOAD_TYPE, r.body),
      signature: Buffer.from(r.signature, 'base64'),
    })),
    checkpoint: checkpointAt(emitted.head),
  };
}

export async function measureAll(args: BenchArgs): Promise<Measurements> {
  const { count, threads } = args;
  const emitted = measureEmit(count);
  const { emit, rawSign } = emitted;
  note(`emit ${Math.round(emit.rate)}/s, raw sign ${Math.round(rawSign.rate)}/s`);
  const chain = chainOf(emitted);

  // The baselines run both before and after what they judge and are pooled, so a machine that
  // speeds up or slows down during the run does not land on one side of a ratio only.
  const spki = publicKeyFromRaw(SIGNER.publicKey).export({ format: 'der', type: 'spki' });
  const rawBefore = await measureRawVerify(chain.pairs, spki, threads);
  const checkpointBefore = await measureVerify(chain.lines, chain.checkpoint, 'checkpoint', threads);
  const full = await measureVerify(chain.lines, chain.checkpoint, 'full', threads);
  const checkpointAfter = await measureVerify(chain.lines, chain.checkpoint, 'checkpoint', threads);
  const rawAfter = await measureRawVerify(chain.pairs, spki, threads);
  note(`full verify ${Math.round(full.rate)}/s`);

  const memory = args.million ? await measureMemory(args.millionCount, threads, args.keep) : null;
  return {
    rawSign,
    emit,
    rawVerify: pooled(rawBefore, rawAfter),
    full,
    checkpoint: pooled(checkpointBefore, checkpointAfter),
    memory,
  };
}
