import type { AlertSink, CheckpointWitness, ReceiptSpool } from '../ports';

/** Receipts one commit carries at most, unless the ledger takes fewer writes (`maxWritesPerAppend`). */
export const DEFAULT_MAX_BATCH = 500;
/** A signed checkpoint every this many receipts. */
export const DEFAULT_CHECKPOINT_EVERY = 1000;

export interface ChainWriterOptions {
  /** Receipts per commit at most (default 500; fewer when the ledger's `maxWritesPerAppend` says so). */
  readonly maxBatch?: number;
  /**
   * The least time, on the writer's clock, between the starts of two commits of this chain
   * (default 0: commit every turn). Under load, receipts emitted meanwhile ride in the next
   * commit: fewer, bigger commits, which keeps the chain's head document and its receipt ids
   * within the store's write-rate guidance. `flush()` still commits at once.
   */
  readonly minCommitIntervalMs?: number;
  /** Where receipts go while the ledger is unavailable (safe mode); without one, commits fail. */
  readonly spool?: ReceiptSpool;
  /** A signed checkpoint is stored each time the chain crosses a multiple of this size (default 1,000). */
  readonly checkpointEvery?: number;
  /** An independent store every checkpoint is also written to (Cloud Storage). */
  readonly witness?: CheckpointWitness;
  /**
   * Where a failed periodic checkpoint is reported. The receipts are durable by then; a missing
   * checkpoint only delays what an auditor can check against one, so it must not fail the commit.
   */
  readonly alerts?: AlertSink;
  /**
   * The fencing epoch this writer holds the chain under (its lease's epoch, which increases on
   * every change of owner). `open` claims the chain with it before reading the head, and
   * `recover` claims it again before flushing a spool, so once a newer owner has claimed the
   * chain every commit of this writer is refused (LEDGER_FENCED) instead of forking it.
   * Without an epoch the writer commits unfenced.
   */
  readonly epoch?: number;
  /**
   * Called once, with the chain, when a commit or a recovery is refused with LEDGER_FENCED:
   * the writer has failed for good (every pending receipt's `durable` rejects, nothing is
   * spooled) and its owner should give the chain up. Not called when `open` itself is fenced:
   * `open` rejects then.
   */
  readonly onFenced?: (chain: string) => void;
}
