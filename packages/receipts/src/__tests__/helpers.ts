import { appendReceipt, checkpointOf, emptyHead, signCheckpoint, type ChainHead } from '../index';
import { Keyring, SigningKey } from '../keys';
import { sampleFields } from '../sample';

export const SEED = Buffer.alloc(32, 7);
export const T0 = Date.parse('2026-11-23T10:00:00.000Z');

export interface TestChain {
  readonly key: SigningKey;
  readonly keyring: Keyring;
  readonly lines: string[];
  readonly head: ChainHead;
  readonly checkpoint: string;
}

/** A valid chain of `count` receipts with a checkpoint at its end, fully deterministic. */
export function buildChain(count: number, account = 'acme', key = SigningKey.fromSeed(SEED)): TestChain {
  let head = emptyHead(`tenants/${account}`);
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const a = appendReceipt(head, sampleFields(account, i), key, {
      now: new Date(T0 + i * 1000),
      receiptId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    });
    head = a.head;
    lines.push(JSON.stringify(a.record));
  }
  return {
    key,
    keyring: new Keyring([key.publicEntry('2026-01-01T00:00:00.000Z')]),
    lines,
    head,
    checkpoint: signCheckpoint(checkpointOf(head, new Date(T0 + count * 1000)), key),
  };
}

/** Rewrites one record's body, re-hashing so only the intended check can catch it. */
export function mutateBody(line: string, change: (body: Record<string, unknown>) => void): string {
  const record = JSON.parse(line) as { body: string };
  const body = JSON.parse(record.body) as Record<string, unknown>;
  change(body);
  return JSON.stringify({ ...record, body: JSON.stringify(body) });
}
