import { appendReceipt, emptyHead, sampleFields, SigningKey, type ChainHead } from '@governor/receipts';
import type { LedgerEntry } from '../../ports';

const key = SigningKey.fromSeed(Buffer.alloc(32, 7));
const T0 = Date.parse('2026-11-23T10:00:00.000Z');

/** `count` signed receipts of tenants/acme continuing `from`, and the head after them. */
export function batch(count: number, from: ChainHead = emptyHead('tenants/acme')) {
  const entries: LedgerEntry[] = [];
  let head = from;
  for (let i = 0; i < count; i++) {
    const seq = head.size;
    const appended = appendReceipt(head, sampleFields('acme', seq), key, { now: new Date(T0 + seq * 1000) });
    entries.push({ seq, record: appended.record });
    head = appended.head;
  }
  return { entries, head };
}
