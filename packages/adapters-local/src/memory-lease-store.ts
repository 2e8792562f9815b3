import { AccountId, WorkerId } from '@governor/contracts';
import { systemClock, type Clock, type Lease, type LeaseStore } from '@governor/governor';
import { invalidArgument } from './errors';

// The lease rules every LeaseStore applies, shared with the cloud adapters: each takes the
// lease as last read (null when there is none) and says what to write instead (null: nothing).

/** Whether `lease` is still held at `now`: a released lease (expires_at 0) never is. */
export function leaseIsLive(lease: Lease, now: number): boolean {
  return lease.expires_at > now;
}

/**
 * The lease to write when `holder` asks for `current`: renewed under the same epoch when the
 * holder has it live, taken under the next epoch when it is absent, expired or released; null
 * when another holder's lease is live (the answer is then null too).
 */
export function planAcquire(
  current: Lease | null,
  request: { readonly accountId: string; readonly holder: string; readonly ttlMs: number },
  now: number,
): Lease | null {
  const expires_at = now + request.ttlMs;
  if (current && leaseIsLive(current, now))
    return current.holder === request.holder ? { ...current, expires_at } : null;
  return {
    account_id: request.accountId,
    holder: request.holder,
    epoch: (current?.epoch ?? 0) + 1,
    expires_at,
  };
}

/** Whether `current` is still `lease`'s: same holder, same epoch, not released (expired is fine). */
function stillHeld(current: Lease | null, lease: Lease): current is Lease {
  return (
    current !== null &&
    current.holder === lease.holder &&
    current.epoch === lease.epoch &&
    current.expires_at > 0
  );
}

/** The renewed lease, or null when `lease` was lost (taken over or released). */
export function planRenew(current: Lease | null, lease: Lease, ttlMs: number, now: number): Lease | null {
  return stillHeld(current, lease) ? { ...current, expires_at: now + ttlMs } : null;
}

/** The released lease (epoch kept, expires_at 0), or null when `lease` is no longer held: no-op. */
export function planRelease(current: Lease | null, lease: Lease): Lease | null {
  return stillHeld(current, lease) ? { ...current, expires_at: 0 } : null;
}

/**
 * Rejects what no lease store accepts: ids that could not be document names, a ttl that is not
 * a positive number of milliseconds. Throws a non-retryable GovernorError.
 */
export function checkLeaseArgs(args: {
  readonly accountId?: string;
  readonly workerId?: string;
  readonly ttlMs?: number;
}): void {
  if (args.accountId !== undefined && !AccountId.safeParse(args.accountId).success)
    throw invalidArgument(`not an account id: ${JSON.stringify(args.accountId)}`);
  if (args.workerId !== undefined && !WorkerId.safeParse(args.workerId).success)
    throw invalidArgument(`not a worker id: ${JSON.stringify(args.workerId)}`);
  if (args.ttlMs !== undefined && !(Number.isSafeInteger(args.ttlMs) && args.ttlMs > 0))
    throw invalidArgument(`a lease ttl must be a positive whole number of ms, not ${args.ttlMs}`);
}

/** Checks what a lease passed back to the store says about itself. */
export function checkLease(lease: Lease): void {
  checkLeaseArgs({ accountId: lease.account_id, workerId: lease.holder });
  if (!Number.isSafeInteger(lease.epoch) || lease.epoch < 1)
    throw invalidArgument(`not a lease epoch: ${lease.epoch}`);
}

export interface MemoryLeaseStoreOptions {
  /** The time leases and heartbeats are judged by. Default: Date.now. */
  readonly clock?: Pick<Clock, 'now'>;
}

/**
 * Leases and members in process memory: every caller shares one instance, so each operation is
 * atomic. For tests (with an injected clock) and single-process runs.
 */
export class MemoryLeaseStore implements LeaseStore {
  private readonly clock: Pick<Clock, 'now'>;
  private readonly leases = new Map<string, Lease>();
  private readonly heartbeats = new Map<string, number>();

  constructor(options: MemoryLeaseStoreOptions = {}) {
    this.clock = options.clock ?? systemClock;
  }

  acquire(accountId: string, holder: string, ttlMs: number): Promise<Lease | null> {
    return settle(() => {
      checkLeaseArgs({ accountId, workerId: holder, ttlMs });
      const next = planAcquire(
        this.leases.get(accountId) ?? null,
        { accountId, holder, ttlMs },
        this.clock.now(),
      );
      return next && this.store(next);
    });
  }

  renew(lease: Lease, ttlMs: number): Promise<Lease | null> {
    return settle(() => {
      checkLease(lease);
      checkLeaseArgs({ ttlMs });
      const next = planRenew(this.leases.get(lease.account_id) ?? null, lease, ttlMs, this.clock.now());
      return next && this.store(next);
    });
  }

  release(lease: Lease): Promise<void> {
    return settle(() => {
      checkLease(lease);
      const next = planRelease(this.leases.get(lease.account_id) ?? null, lease);
      if (next) this.store(next);
    });
  }

  list(): Promise<Lease[]> {
    return settle(() =>
      [...this.leases.values()].map((l) => ({ ...l })).sort((a, b) => (a.account_id < b.account_id ? -1 : 1)),
    );
  }

  heartbeat(workerId: string, ttlMs: number): Promise<void> {
    return settle(() => {
      checkLeaseArgs({ workerId, ttlMs });
      this.heartbeats.set(workerId, this.clock.now() + ttlMs);
    });
  }

  leave(workerId: string): Promise<void> {
    return settle(() => {
      checkLeaseArgs({ workerId });
      this.heartbeats.delete(workerId);
    });
  }

  members(): Promise<string[]> {
    return settle(() => {
      const now = this.clock.now();
      return [...this.heartbeats]
        .filter(([, expiresAt]) => expiresAt > now)
        .map(([id]) => id)
        .sort();
    });
  }

  /** Keeps a copy, returns another: callers never share an object with the store. */
  private store(lease: Lease): Lease {
    this.leases.set(lease.account_id, { ...lease });
    return { ...lease };
  }
}

/** Runs `fn` now, as a promise: a validation error becomes a rejection, not a throw. */
function settle<T>(fn: () => T): Promise<T> {
  return new Promise<T>((resolve) => resolve(fn()));
}
