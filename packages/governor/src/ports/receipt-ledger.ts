import type { StoredReceipt } from '@governor/contracts';
import type { ChainHead } from '@governor/receipts';

/** One receipt ready to persist, with the chain head after it. */
export interface LedgerEntry {
  readonly seq: number;
  readonly record: StoredReceipt;
}

/**
 * Durable, append-only receipt storage, one chain per tenant or worker. `append` is atomic for
 * the whole batch together with the new head, and creates each seq at most once: a second
 * writer's batch fails with a conflict instead of forking the chain.
 *
 * Fencing: each chain has a stored fence, the highest epoch any client has claimed it under
 * (none until the first claim). A client that claimed a chain has every later append checked
 * against it in the same atomic step as the write, so an owner that lost its lease (paused,
 * partitioned) is refused with LEDGER_FENCED the moment a newer owner has claimed, whatever
 * its own view of the head. A client that never claimed a chain appends unfenced.
 */
export interface ReceiptLedger {
  /**
   * The most entries one `append` takes (a store's per-commit write limit, the head included);
   * none when unbounded. Writers split their batches to fit it.
   */
  readonly maxEntriesPerAppend?: number;
  /** The stored head of a chain, or null for a chain never written (a claim alone writes none). */
  head(chain: string): Promise<ChainHead | null>;
  /**
   * This client now writes `chain` under fencing epoch `epoch` (a lease epoch: a non-negative
   * safe integer that increases on every change of owner). The stored fence becomes `epoch` if
   * it was lower or absent; the same epoch again is a no-op. A stored fence above `epoch`
   * rejects with a non-retryable LEDGER_FENCED. From then on this client's appends to `chain`
   * are refused with LEDGER_FENCED, writing nothing, once another client claims a higher epoch.
   */
  claim(chain: string, epoch: number): Promise<void>;
  /**
   * Appends `entries` (contiguous seqs continuing the stored head) and stores `head`,
   * atomically. LEDGER_CONFLICT when they do not continue the stored head; LEDGER_FENCED when
   * this client claimed the chain and a higher epoch has been claimed since; a non-retryable
   * refusal for more than `maxEntriesPerAppend` entries.
   */
  append(chain: string, entries: readonly LedgerEntry[], head: ChainHead): Promise<void>;
  /** Stored records in seq order, from `afterSeq + 1`. */
  read(chain: string, options?: { afterSeq?: number; limit?: number }): AsyncIterable<StoredReceipt>;
  putCheckpoint(chain: string, size: number, note: string): Promise<void>;
  latestCheckpoint(chain: string): Promise<string | null>;
  /** A write followed by a read: what the health monitor calls to decide safe mode. */
  probe(): Promise<void>;
}
