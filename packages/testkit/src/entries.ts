import { parseChainId, type StoredReceipt } from '@governor/contracts';
import type { LedgerEntry } from '@governor/governor';
import {
  appendReceipt,
  emptyHead,
  Keyring,
  sampleFields,
  type ChainHead,
  type SigningKey,
} from '@governor/receipts';

/** The clock of built receipts: seq n is stamped `TEST_EPOCH + n` seconds, so chains are reproducible. */
export const TEST_EPOCH = Date.parse('2026-11-23T10:00:00.000Z');

/** A batch ready for `ReceiptLedger.append`, and the chain head after it. */
export interface BuiltEntries {
  readonly entries: LedgerEntry[];
  readonly head: ChainHead;
}

/**
 * Builds `count` real receipts (schema-valid, hashed, signed with `key`) continuing `fromHead`,
 * cycling through every operation's sample fields. Receipt ids are random, so two batches built
 * from the same head are different receipts at the same seqs: what two racing writers produce.
 */
export function buildEntries(
  chain: string,
  count: number,
  key: SigningKey,
  fromHead: ChainHead = emptyHead(chain),
): BuiltEntries {
  const owner = parseChainId(chain)?.owner;
  if (owner === undefined) throw new RangeError(`not a chain id: ${chain}`);
  if (fromHead.chain !== chain) throw new RangeError(`head of ${fromHead.chain} cannot continue ${chain}`);
  const entries: LedgerEntry[] = [];
  let head = fromHead;
  for (let i = 0; i < count; i++) {
    const seq = head.size;
    const appended = appendReceipt(head, sampleFields(owner, seq), key, {
      now: new Date(TEST_EPOCH + seq * 1000),
    });
    entries.push({ seq, record: appended.record });
    head = appended.head;
  }
  return { entries, head };
}

/** A keyring trusting `keys` for every receipt `buildEntries` stamps. */
export function keyringFor(...keys: SigningKey[]): Keyring {
  return new Keyring(keys.map((k) => k.publicEntry('2026-01-01T00:00:00.000Z')));
}

/** Drains an async iterable (a ledger read) into an array. */
export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** Stored records as the lines of an export: what `verifyLines` reads. */
export function recordLines(records: readonly StoredReceipt[]): string[] {
  return records.map((r) => JSON.stringify(r));
}

/** The seq inside each record's body. */
export function seqsOf(records: readonly StoredReceipt[]): number[] {
  return records.map((r) => (JSON.parse(r.body) as { seq: number }).seq);
}
