import type { StoredReceipt } from '@governor/contracts';
import type { ChainHead } from '@governor/receipts';
import type { ActionLogEntry } from './action-log';

/** One receipt ready to persist. */
export interface LedgerEntry {
  readonly seq: number;
  readonly record: StoredReceipt;
  /**
   * The action log entry this receipt settles (the action's final state): a side document
   * stored by the same atomic append, so the receipt and the log never disagree.
   */
  readonly action?: ActionLogEntry;
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
   * The most writes one `append` makes (a store's per-commit write limit): one per entry, one
   * more per entry carrying an action, and one for the head. None when unbounded. Writers split
   * their batches to fit it (see `writesOf`).
   */
  readonly maxWritesPerAppend?: number | undefined;
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
   * atomically, together with the action log entries they carry (each replacing the chain's
   * entry of its action_id). LEDGER_CONFLICT when they do not continue the stored head;
   * LEDGER_FENCED when this client claimed the chain and a higher epoch has been claimed since;
   * a non-retryable refusal for more than `maxWritesPerAppend` writes.
   */
  append(chain: string, entries: readonly LedgerEntry[], head: ChainHead): Promise<void>;
  /** Stored records in seq order, from `afterSeq + 1`. */
  read(chain: string, options?: { afterSeq?: number; limit?: number }): AsyncIterable<StoredReceipt>;
  /**
   * The write-ahead of a batch of actions: in one commit, creates each entry whose action_id
   * the chain's action log does not have yet, and says for each whether it did. Action ids
   * derive from signal ids, so this is what makes a redelivered signal run once. Entries whose
   * id repeats within the call: the first is created, the others are not.
   */
  startActions(chain: string, entries: readonly ActionLogEntry[]): Promise<boolean[]>;
  /** Stores `entries` as they are, replacing the chain's entries of their action_ids. */
  putActions(chain: string, entries: readonly ActionLogEntry[]): Promise<void>;
  /** The chain's action log entries whose latest state is `running`, in no particular order. */
  runningActions(chain: string): Promise<ActionLogEntry[]>;
  /**
   * How many of the chain's actions started at or after `since` (ms since the epoch): the
   * monthly quota's usage, durable with the actions it counts (one entry per started action).
   */
  actionsStartedSince(chain: string, since: number): Promise<number>;
  putCheckpoint(chain: string, size: number, note: string): Promise<void>;
  latestCheckpoint(chain: string): Promise<string | null>;
  /** A write followed by a read: what the health monitor calls to decide safe mode. */
  probe(): Promise<void>;
}
