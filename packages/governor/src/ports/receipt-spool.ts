import type { ChainHead } from '@governor/receipts';
import type { LedgerEntry } from './receipt-ledger';

/**
 * A local, fsync'd holding area for receipts the ledger could not take (safe mode). Flushed to
 * the ledger in order on recovery, so chains stay contiguous across an outage.
 */
export interface ReceiptSpool {
  append(chain: string, entries: readonly LedgerEntry[], head: ChainHead): Promise<void>;
  /** Everything spooled for the chain, in seq order, with the head after the last one. */
  pending(chain: string): Promise<{ entries: LedgerEntry[]; head: ChainHead } | null>;
  clear(chain: string): Promise<void>;
}
