/** A tenant's lease (`/leases/{account_id}`): who may write its chain, until when, under which fencing epoch. */
export interface Lease {
  readonly account_id: string;
  /** The worker id holding it. */
  readonly holder: string;
  /** Increases on every change of holder (takeover or re-acquire after release); the chain's fencing epoch. Starts at 1. */
  readonly epoch: number;
  /** Epoch milliseconds (the clock of whoever wrote it) after which it is free to take. */
  readonly expires_at: number;
}

/**
 * Tenant ownership across worker instances: one lease per tenant, and the set of live workers
 * that share the tenants. A lease is live while the store's clock is before `expires_at`;
 * a released lease has `expires_at` 0. Worker clocks must be roughly in sync, so a holder
 * should treat its lease as lost some margin before `expires_at` and renew well before that.
 * Invalid account or worker ids and non-positive ttls are rejected (non-retryable); an
 * unreachable store fails retryably.
 */
export interface LeaseStore {
  /** Takes the lease for `holder` if it is absent, expired or released, or renews it if `holder` already holds it live (same epoch). Null when another holder's lease is live. Taking it from anyone (including after expiry or release) increments the epoch. Two callers racing for one lease: at most one gets it. */
  acquire(accountId: string, holder: string, ttlMs: number): Promise<Lease | null>;
  /** Extends `lease` by ttlMs from now if it is still held by lease.holder under lease.epoch; null when lost (taken over, released, or expired and taken). An expired lease nobody took may be renewed. */
  renew(lease: Lease, ttlMs: number): Promise<Lease | null>;
  /** `renew` of each lease (one per tenant), in a number of store round trips that does not grow with their count (a holder renews all its leases each tick). Answers in the order asked: the renewed lease, or null for each one lost. One invalid lease or ttl refuses the whole call, as `renew` would. */
  renewAll(leases: readonly Lease[], ttlMs: number): Promise<(Lease | null)[]>;
  /** Gives the lease up at once (expires_at = 0) if still held under lease.epoch; no-op otherwise. The epoch is kept, so the next acquire gets epoch + 1. */
  release(lease: Lease): Promise<void>;
  /** Every lease, live or not. */
  list(): Promise<Lease[]>;
  /** Marks workerId as alive until now + ttlMs (peers count members to balance tenants). */
  heartbeat(workerId: string, ttlMs: number): Promise<void>;
  /** Removes workerId from the members at once (graceful stop). */
  leave(workerId: string): Promise<void>;
  /** Ids of members whose heartbeat has not expired, sorted. */
  members(): Promise<string[]>;
}
