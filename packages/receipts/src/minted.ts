import type { StoredReceipt } from '@governor/contracts';

/** What the appender knows of a record it made: the envelope fields a ledger checks, and its leaf. */
export interface MintedFacts {
  readonly seq: number;
  readonly chain: string;
  readonly prev_hash: string;
  readonly timestamp: string;
  readonly leaf: Buffer;
  readonly body: string;
  readonly leaf_hash: string;
}

// Records this process appended, with the facts behind them, so a ledger applying its rules to
// them in the same process need not parse and hash again what was just computed.
const minted = new WeakMap<StoredReceipt, MintedFacts>();

export function rememberMinted(record: StoredReceipt, facts: MintedFacts): void {
  minted.set(record, facts);
}

/**
 * The appender's facts about `record` if this process made it and it still carries the body
 * and leaf hash it was made with; otherwise undefined, and the record must be read as stored.
 */
export function mintedFacts(record: StoredReceipt): MintedFacts | undefined {
  const facts = minted.get(record);
  return facts !== undefined && facts.body === record.body && facts.leaf_hash === record.leaf_hash
    ? facts
    : undefined;
}
