import type { AlertSink, Lease, LeaseStore, TenantDirectory } from '@governor/governor';
import type { Logger } from 'pino';

/** What ownership needs of the runtime: take a tenant over under an epoch, and give it back. */
export interface OwnedTenants {
  /** Resumes the tenant from its record (reconciling its running actions) under `epoch`. */
  adopt(accountId: string, epoch: number): Promise<{ reconciled: number } | null>;
  /** Stops serving the tenant: with `drain`, its running actions finish first. */
  relinquish(accountId: string, options: { drain: boolean }): Promise<boolean>;
}

export interface OwnershipOptions {
  readonly workerId: string;
  readonly leases: LeaseStore;
  readonly directory: TenantDirectory;
  readonly tenants: OwnedTenants;
  readonly alerts: AlertSink;
  readonly log: Logger;
  /** How long a lease lasts without renewal: the longest a dead worker's tenants wait. */
  readonly leaseMs: number;
  /** How often leases are renewed and the share is rebalanced (default min(1 s, lease / 3)). */
  readonly tickMs?: number;
}

/**
 * Tenant ownership across worker instances (gcp backend): a worker serves only the tenants
 * whose lease it holds (`/leases/{account_id}`), renews them every tick, takes free or expired
 * ones up to its fair share (tenants ÷ live members, rounded up), sheds what is above it, and
 * gives everything back on stop. The lease epoch fences the tenant's chain, so a worker that lost
 * its lease while paused has its next commit refused instead of forking the chain.
 */
export class Ownership {
  private readonly held = new Map<string, Lease>();
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly options: OwnershipOptions) {}

  get tickMs(): number {
    return this.options.tickMs ?? Math.max(50, Math.min(1_000, Math.floor(this.options.leaseMs / 3)));
  }

  /** Tenants this worker holds now. */
  owned(): string[] {
    return [...this.held.keys()].sort();
  }

  /** Joins the members, takes a first share, then keeps renewing and balancing. */
  async start(): Promise<void> {
    await this.tick();
    this.timer = setInterval(() => {
      this.ticking = this.ticking.then(() => this.tick());
    }, this.tickMs);
    this.timer.unref();
  }

  /**
   * Claims a tenant that is being provisioned (entitlement.created reached every worker): the
   * one that gets its lease provisions it. Returns the epoch, or null when another worker has it.
   */
  async claim(accountId: string): Promise<number | null> {
    const held = this.held.get(accountId);
    if (held) return held.epoch;
    const lease = await this.options.leases.acquire(accountId, this.options.workerId, this.options.leaseMs);
    if (lease === null) return null;
    this.held.set(accountId, lease);
    return lease.epoch;
  }

  /** A claim whose provisioning failed: the lease goes back. */
  async unclaim(accountId: string): Promise<void> {
    const lease = this.held.get(accountId);
    this.held.delete(accountId);
    if (lease) await this.options.leases.release(lease).catch(() => undefined);
  }

  /** The chain refused a commit under our epoch: another worker owns the tenant now. */
  fenced(accountId: string): void {
    if (!this.held.delete(accountId)) return;
    this.lost(accountId, 'a commit was fenced: another worker claimed the chain');
  }

  private lost(accountId: string, why: string): void {
    this.options.alerts.alert({
      severity: 'warning',
      code: 'LEASE_LOST',
      message: `gave up ${accountId}: ${why}`,
      account_id: accountId,
    });
    void this.options.tenants.relinquish(accountId, { drain: false }).catch((e: unknown) => {
      this.options.log.error({ err: e, account_id: accountId }, 'giving up a lost tenant failed');
    });
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    const { leases, workerId, leaseMs, log } = this.options;
    try {
      await leases.heartbeat(workerId, leaseMs);
      await this.renew();
      await this.balance();
    } catch (e) {
      // A store that cannot be reached: leases run out on their own; safe mode handles commits.
      log.warn({ err: e }, 'ownership tick failed; retrying next tick');
    }
  }

  private async renew(): Promise<void> {
    for (const [accountId, lease] of [...this.held]) {
      const renewed = await this.options.leases.renew(lease, this.options.leaseMs);
      if (this.held.get(accountId) !== lease) continue; // released or fenced meanwhile
      if (renewed) this.held.set(accountId, renewed);
      else {
        this.held.delete(accountId);
        this.lost(accountId, 'its lease expired and another worker took it');
      }
    }
  }

  /** Takes free tenants up to the fair share; sheds the surplus above it (draining first). */
  private async balance(): Promise<void> {
    const { leases, directory, workerId, leaseMs, log, tenants } = this.options;
    const active = (await directory.list()).filter((r) => r.state === 'active').map((r) => r.account_id);
    const members = await leases.members();
    const share = Math.ceil(active.length / Math.max(1, members.length));
    const now = Date.now();
    const leaseOf = new Map((await leases.list()).map((l) => [l.account_id, l]));
    for (const accountId of active) {
      if (this.stopped || this.held.size >= share) break;
      if (this.held.has(accountId)) continue;
      const current = leaseOf.get(accountId);
      // Live members keep theirs; a lease of a member that left or died is free once expired.
      if (current && current.expires_at > now && current.holder !== workerId) continue;
      const lease = await leases.acquire(accountId, workerId, leaseMs);
      if (!lease) continue;
      this.held.set(accountId, lease);
      const started = Date.now();
      try {
        const adopted = await tenants.adopt(accountId, lease.epoch);
        if (adopted === null) {
          await this.unclaim(accountId);
          continue;
        }
        log.info(
          {
            account_id: accountId,
            epoch: lease.epoch,
            reconciled: adopted.reconciled,
            ms: Date.now() - started,
            previous_holder: current?.holder ?? null,
          },
          'tenant taken over',
        );
      } catch (e) {
        log.error({ err: e, account_id: accountId }, 'taking a tenant over failed; its lease goes back');
        await this.unclaim(accountId);
      }
    }
    // Shed only what is above the share, so two workers do not trade tenants back and forth.
    const surplus = this.held.size - share;
    for (const accountId of this.owned().slice(0, Math.max(0, surplus))) {
      const lease = this.held.get(accountId) as Lease;
      this.held.delete(accountId);
      await tenants.relinquish(accountId, { drain: true });
      await leases.release(lease);
      log.info({ account_id: accountId, share, members: members.length }, 'tenant handed over (rebalancing)');
    }
  }

  /** Graceful stop: no more ticks; every tenant drained and its lease given back; leaves the members. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.ticking;
    for (const [accountId, lease] of [...this.held]) {
      this.held.delete(accountId);
      await this.options.tenants.relinquish(accountId, { drain: true });
      await this.options.leases.release(lease).catch(() => undefined);
    }
    await this.options.leases.leave(this.options.workerId).catch(() => undefined);
  }
}
