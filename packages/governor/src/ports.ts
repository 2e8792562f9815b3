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
 *
 * Fencing: each chain has a stored fence, the highest epoch any client has claimed it under
 * (none until the first claim). A client that claimed a chain has every later append checked
 * against it in the same atomic step as the write, so an owner that lost its lease (paused,
 * partitioned) is refused with LEDGER_FENCED the moment a newer owner has claimed, whatever
 * its own view of the head. A client that never claimed a chain appends unfenced.
 */
export interface ReceiptLedger {
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
   * this client claimed the chain and a higher epoch has been claimed since.
   */
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
  /** From the policy's action: where an `http` handler calls, and where it calls to undo. */
  readonly endpoint?: string;
  readonly rollback_endpoint?: string;
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

/** A signal as it travels on a tenant's topic `tenants.{account_id}.signals`. */
export interface Signal {
  readonly signal_id: string;
  readonly account_id: string;
  readonly type: 'action' | 'scale';
  readonly action_kind?: string;
  readonly params?: Readonly<Record<string, unknown>>;
  /** For `scale`: the requested in-flight limit. */
  readonly concurrency?: number;
  readonly correlation_id?: string;
  readonly published_at: number;
}

/** How a consumer settles a delivery: ack only once its receipts are durable; nack to redeliver. */
export interface Delivery {
  readonly signal: Signal;
  ack(): void;
  nack(): void;
}

/** Per-tenant signal topics (Pub/Sub, Kafka, or the in-process bus). */
export interface SignalBus {
  createTopic(accountId: string): Promise<void>;
  deleteTopic(accountId: string): Promise<void>;
  topicExists(accountId: string): Promise<boolean>;
  publish(signal: Signal): Promise<void>;
  /** Delivers the tenant's signals in order; returns a function that stops the subscription. */
  subscribe(
    accountId: string,
    onDelivery: (delivery: Delivery) => void,
    options?: SubscribeOptions,
  ): Promise<() => Promise<void>>;
}

export interface SubscribeOptions {
  /**
   * At most this many deliveries handed out and not yet settled (flow control); the governor
   * passes its in-flight limit plus its queue, so a transport never floods it.
   */
  readonly maxOutstanding?: number;
}

/** A marketplace entitlement event, as the ingress forwards it to the workers. */
export interface EntitlementEvent {
  readonly type: 'entitlement.created' | 'entitlement.plan_changed' | 'entitlement.cancelled';
  readonly entitlement_id: string;
  readonly account_id: string;
  readonly sku_id: string;
  readonly plan_type: string;
  readonly region: string;
  readonly cancellation_reason?: string;
  readonly occurred_at: string;
}

/** What travels on `governor.control` from the ingress to every worker. */
export type ControlMessage =
  | { readonly kind: 'entitlement'; readonly event: EntitlementEvent; readonly correlation_id?: string }
  | {
      readonly kind: 'policy';
      readonly policy: unknown;
      readonly force: boolean;
      readonly forced_by?: string;
      readonly correlation_id?: string;
    };

/**
 * The control topic (`governor.control`): a broadcast from the ingress to every worker. Each
 * worker has its own subscription, so every worker sees every message once it has subscribed.
 */
export interface ControlChannel {
  publish(message: ControlMessage): Promise<void>;
  /** Subscribes `workerId`; ack once handled, nack to see the message again. */
  subscribe(
    workerId: string,
    onMessage: (message: ControlMessage, settle: { ack(): void; nack(): void }) => void,
  ): Promise<() => Promise<void>>;
}

/** A tenant's durable record: profile, policy, state and concurrency (`/tenants/{account_id}`). */
export interface TenantRecord {
  readonly account_id: string;
  readonly sku_id: string;
  readonly plan_type: string;
  readonly region: string;
  readonly entitlement_id: string;
  readonly policy_version: string;
  readonly state: 'provisioning' | 'active' | 'draining' | 'decommissioned' | 'failed';
  readonly concurrency: number;
  readonly monthly_actions_used: number;
}

/** A durable action log entry (`/tenants/{id}/actions/{action_id}`): the fact that outlives timers. */
export interface ActionLogEntry {
  readonly action_id: string;
  readonly kind: string;
  readonly signal_id: string;
  readonly state: 'running' | 'complete' | 'rolled_back' | 'escalated';
  readonly deadline_at: number;
  readonly recoverable: boolean;
  /**
   * When the action started (ms since the epoch): what the monthly quota counts. Entries written
   * before it was kept lack it, and are not counted.
   */
  readonly started_at?: number;
  /**
   * The size of the tenant's chain when the action started: its outcome, if it has one, is a
   * receipt from there on (what reconcile looks for before it calls an action timed out).
   */
  readonly started_seq?: number;
}

export interface TenantDirectory {
  get(accountId: string): Promise<TenantRecord | null>;
  put(record: TenantRecord): Promise<void>;
  delete(accountId: string): Promise<void>;
  list(): Promise<TenantRecord[]>;
  putAction(accountId: string, entry: ActionLogEntry): Promise<void>;
  /**
   * Writes `entry` only if the log has no entry with its action_id, and says whether it did.
   * Action ids derive from signal ids, so this is what makes a redelivered signal run once.
   */
  startAction(accountId: string, entry: ActionLogEntry): Promise<boolean>;
  runningActions(accountId: string): Promise<ActionLogEntry[]>;
  /**
   * How many of the tenant's actions started at or after `since` (ms since the epoch): the
   * monthly quota's usage, durable with the actions it counts (one entry per started action).
   */
  actionsStartedSince(accountId: string, since: number): Promise<number>;
}

/** Archives of decommissioned chains (`gs://{bucket}/{account_id}/{YYYY-MM-DD}.tar.gz`), never overwritten. */
export interface ArchiveStore {
  /** Stores bytes under `name`; fails if it exists. Returns the archive's location. */
  put(name: string, data: Buffer): Promise<{ path: string; size: number }>;
  get(name: string): Promise<Buffer | null>;
}

/** Versioned plan policies (`policies/{plan}/{version}.json`): the GitOps source of truth. */
export interface PolicyRegistry {
  get(plan: string, version: string): Promise<unknown>;
  latest(plan: string): Promise<unknown>;
  put(plan: string, version: string, policy: unknown): Promise<void>;
}

/**
 * An independent witness of signed checkpoints (`checkpoints/{chain}/{size}.note` in Cloud
 * Storage): a second store the ledger's writer cannot rewrite, so an auditor checks the chain
 * read from the ledger against a checkpoint kept elsewhere.
 */
export interface CheckpointWitness {
  /** Stores the note for `size`; writing the same note again resolves, a different note for a stored size fails. */
  witness(chain: string, size: number, note: string): Promise<void>;
  /** The note with the largest size witnessed for the chain, or null. */
  latest(chain: string): Promise<string | null>;
}

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
