import { checkLease, checkLeaseArgs, planAcquire, planRelease, planRenew } from '../leases/lease-rules';
import { systemClock } from '../clock';
import type { Clock, Lease, LeaseStore } from '../ports';

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

  renewAll(leases: readonly Lease[], ttlMs: number): Promise<(Lease | null)[]> {
    return settle(() => {
      leases.forEach(checkLease);
      checkLeaseArgs({ ttlMs });
      const now = this.clock.now();
      return leases.map((lease) => {
        const next = planRenew(this.leases.get(lease.account_id) ?? null, lease, ttlMs, now);
        return next && this.store(next);
      });
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
