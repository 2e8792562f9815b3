import type { StoredReceipt } from '@governor/contracts';
import type { ChainHead } from '@governor/receipts';

/**
 * The ports the governor core needs. Each is small; adapters (local, GCP, Kafka) implement them
 * and every adapter passes the same contract suite in @governor/testkit.
 */

/** Time, injected so machines and monitors run on simulated time in tests. Compatible with XState's clock. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** One receipt ready to persist, with the chain head after it. */
export interface LedgerEntry {
  readonly seq: number;
  readonly record: StoredReceipt;
}

/**
 * Durable, append-only receipt storage, one chain per tenant or worker. `append` is atomic for
 * the whole batch together with the new head, and creates each seq at most once: a second
 * writer's batch fails with a conflict instead of forking the chain.
 */
export interface ReceiptLedger {
  /** The stored head of a chain, or null for a chain never written. */
  head(chain: string): Promise<ChainHead | null>;
  /** Appends `entries` (contiguous seqs continuing the stored head) and stores `head`, atomically. */
  append(chain: string, entries: readonly LedgerEntry[], head: ChainHead): Promise<void>;
  /** Stored records in seq order, from `afterSeq + 1`. */
  read(chain: string, options?: { afterSeq?: number; limit?: number }): AsyncIterable<StoredReceipt>;
  putCheckpoint(chain: string, size: number, note: string): Promise<void>;
  latestCheckpoint(chain: string): Promise<string | null>;
  /** A write followed by a read: what the health monitor calls to decide safe mode. */
  probe(): Promise<void>;
}

export type AlertSeverity = 'warning' | 'critical';

/** Where escalations go (pager, log, ticket). Never throws: an alert that cannot be sent is logged by the adapter. */
export interface AlertSink {
  alert(alert: {
    severity: AlertSeverity;
    code: string;
    message: string;
    account_id?: string;
    details?: Record<string, unknown>;
  }): void;
}

/** What an action handler is given. */
export interface ActionRequest {
  readonly action_id: string;
  readonly account_id: string;
  readonly kind: string;
  readonly params: Readonly<Record<string, unknown>>;
  /** Idempotency key for the external call, stable across retries and rollbacks. */
  readonly idempotency_key: string;
  /** Aborted when the action times out, so the handler can stop early. */
  readonly signal: AbortSignal;
}

/** A failure of an action, with the code that goes into its receipt. */
export class ActionError extends Error {
  override readonly name = 'ActionError';
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Runs one kind of action (built in: `noop`, `http`). Rollback undoes what `run` did. */
export interface ActionHandler {
  run(request: ActionRequest): Promise<void>;
  rollback(request: ActionRequest): Promise<void>;
}
