import {
  needsOwner,
  systemClock,
  type AlertSink,
  type Clock,
  type Lease,
  type LeaseStore,
  type TenantDirectory,
} from '@governor/governor';
import type { Logger } from 'pino';

/** What ownership needs of the runtime: take a tenant over under an epoch, and give it back. */
export interface OwnedTenants {
  /** Resumes the tenant from its record (reconciling its running actions) under `epoch`. */
  adopt(accountId: string, epoch: number): Promise<{ reconciled: number } | null>;
  /** Stops serving the tenant: with `drain`, its running actions finish first. */
  relinquish(accountId: string, options: { drain: boolean }): Promise<boolean>;
  /** The tenants served here now. */
  served(): string[];
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
  /** The time leases are judged by and the loops are scheduled on (default the system clock). */
  readonly clock?: Clock;
}

/**
 * Runs `fn` every `ms` on `clock` (as setInterval does, whatever `fn` takes) until the returned
 * function is called. System timers are unref'd: they never keep the process alive.
 */
function every(clock: Clock, ms: number, fn: () => void): () => void {
  let handle: unknown;
  const schedule = () => {
    handle = clock.setTimeout(tick, ms);
    (handle as { unref?: () => void } | null)?.unref?.();
  };
  const tick = () => {
    schedule();
    fn();
  };
  schedule();
  return () => clock.clearTimeout(handle);
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
  /** Until when (local clock) each held lease is surely still ours: renewal time + lease − margin. */
  private readonly sureUntil = new Map<string, number>();
  private stopRenewing: (() => void) | null = null;
  private stopBalancing: (() => void) | null = null;
  private renewing: Promise<void> | null = null;
  private balancing: Promise<void> | null = null;
  private stopped = false;

  private readonly clock: Clock;

  constructor(private readonly options: OwnershipOptions) {
    this.clock = options.clock ?? systemClock;
  }

  get tickMs(): number {
    return this.options.tickMs ?? Math.max(50, Math.min(1_000, Math.floor(this.options.leaseMs / 3)));
  }

  /** Tenants this worker holds now. */
  owned(): string[] {
    return [...this.held.keys()].sort();
  }

  /**
   * Whether this worker may still act for the tenant: it holds the lease and its last renewal
   * is recent enough that no peer can have taken it over (a worker that was paused must not
   * start actions before its next renewal tells it the lease is gone).
   */
  mayServe(accountId: string): boolean {
    return this.held.has(accountId) && this.clock.now() < (this.sureUntil.get(accountId) ?? 0);
  }

  private hold(lease: Lease, renewedAt: number): void {
    this.held.set(lease.account_id, lease);
    // A margin for clock skew and the time the write took.
    this.sureUntil.set(
      lease.account_id,
      renewedAt + this.options.leaseMs - Math.min(1_000, this.options.leaseMs / 4),
    );
  }

  private drop(accountId: string): Lease | undefined {
    const lease = this.held.get(accountId);
    this.held.delete(accountId);
    this.sureUntil.delete(accountId);
    return lease;
  }

  /**
   * Joins the members, then keeps renewing and balancing on two loops, so a slow takeover or
   * drain never delays a renewal; resolves once the first share is taken. The renewal loop
   * starts first: the first share may take many store round trips, and the leases taken early
   * in it must not run out meanwhile. A loop still running skips its next turn.
   */
  async start(): Promise<void> {
    await this.renewHeld();
    this.stopRenewing = every(this.clock, this.tickMs, () => {
      this.renewing ??= this.renewHeld().finally(() => (this.renewing = null));
    });
    this.balancing = this.balanceOnce().finally(() => (this.balancing = null));
    await this.balancing;
    if (this.stopped) return;
    this.stopBalancing = every(this.clock, this.tickMs, () => {
      this.balancing ??= this.balanceOnce().finally(() => (this.balancing = null));
    });
  }

  /**
   * Claims a tenant that is being provisioned (entitlement.created reached every worker): the
   * one that gets its lease provisions it. Returns the epoch, or null when another worker has it.
   */
  async claim(accountId: string): Promise<number | null> {
    const held = this.held.get(accountId);
    if (held) return held.epoch;
    const asked = this.clock.now();
    const lease = await this.options.leases.acquire(accountId, this.options.workerId, this.options.leaseMs);
    if (lease === null) return null;
    this.hold(lease, asked);
    return lease.epoch;
  }

  /** A claim whose provisioning failed: the lease goes back. */
  async unclaim(accountId: string): Promise<void> {
    const lease = this.drop(accountId);
    if (lease) await this.options.leases.release(lease).catch(() => undefined);
  }

  /** The chain refused a commit under our epoch: another worker owns the tenant now. */
  fenced(accountId: string): void {
    if (!this.drop(accountId)) return;
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

  /**
   * Heartbeat and renewals: the loop that must never wait on anything else. Every lease is
   * renewed in one `renewAll`, so a round costs the same few store round trips however many
   * tenants are held (one call per tenant left leases unsure, then lost, under load).
   */
  private async renewHeld(): Promise<void> {
    const { leases, workerId, leaseMs, log } = this.options;
    const heartbeat = leases.heartbeat(workerId, leaseMs).catch((e: unknown) => {
      log.warn({ err: e }, 'membership heartbeat failed; retrying next tick');
    });
    await Promise.all([heartbeat, this.renewLeases([...this.held.values()])]);
  }

  private async renewLeases(asked: readonly Lease[]): Promise<void> {
    if (asked.length === 0) return;
    const { leases, leaseMs, log } = this.options;
    const at = this.clock.now();
    let answers: (Lease | null)[];
    try {
      answers = await leases.renewAll(asked, leaseMs);
    } catch (e) {
      // A store that cannot be reached: the leases run out on their own, and mayServe() says so.
      log.warn({ err: e, tenants: asked.length }, 'lease renewal failed; retrying next tick');
      return;
    }
    asked.forEach((lease, i) => {
      const accountId = lease.account_id;
      if (this.held.get(accountId) !== lease) return; // released or fenced meanwhile
      const renewed = answers[i] ?? null;
      if (renewed) this.hold(renewed, at);
      else {
        this.drop(accountId);
        this.lost(accountId, 'its lease expired and another worker took it');
      }
    });
  }

  private async balanceOnce(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.balance();
    } catch (e) {
      this.options.log.warn({ err: e }, 'balancing tenants failed; retrying next tick');
    }
  }

  /** Takes free tenants up to the fair share; sheds the surplus above it (draining first). */
  private async balance(): Promise<void> {
    const { leases, directory, workerId, leaseMs, log, tenants } = this.options;
    const records = await directory.list();
    const active = records.filter((r) => r.state === 'active').map((r) => r.account_id);
    // A draining tenant (a decommission that did not finish) needs an owner too, to finish it.
    const owned = records.filter(needsOwner).map((r) => r.account_id);
    // Decommissioned (or failed) tenants need no owner: their leases go back. (One still being
    // provisioned under a claim is not active yet, and keeps its lease.)
    const ended = new Set(
      records.filter((r) => r.state === 'decommissioned' || r.state === 'failed').map((r) => r.account_id),
    );
    for (const accountId of this.owned().filter((id) => ended.has(id))) {
      const lease = this.drop(accountId);
      if (lease) await leases.release(lease).catch(() => undefined);
    }
    // Safety net: a tenant served here without its lease (its provisioning outlived a lost
    // claim, say) would compete with its owner for deliveries; it is given up.
    for (const accountId of tenants.served().filter((id) => !this.held.has(id) && active.includes(id))) {
      log.warn({ account_id: accountId }, 'serving a tenant without its lease; giving it up');
      await tenants.relinquish(accountId, { drain: false });
    }
    const members = await leases.members();
    // Tenants being provisioned under a claim count too, or the share would shed them.
    const counted = new Set([...owned, ...this.held.keys()]);
    const share = Math.ceil(counted.size / Math.max(1, members.length));
    const now = this.clock.now();
    const leaseOf = new Map((await leases.list()).map((l) => [l.account_id, l]));
    for (const accountId of owned) {
      if (this.stopped || this.held.size >= share) break;
      if (this.held.has(accountId)) continue;
      const current = leaseOf.get(accountId);
      // Live members keep theirs; a lease of a member that left or died is free once expired.
      if (current && current.expires_at > now && current.holder !== workerId) continue;
      const asked = this.clock.now();
      const lease = await leases.acquire(accountId, workerId, leaseMs);
      if (!lease) continue;
      this.hold(lease, asked);
      const started = this.clock.now();
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
            ms: this.clock.now() - started,
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
    // Renewals go on meanwhile (their own loop), so the lease outlives the drain.
    // Only active tenants are shed: one still being provisioned finishes here first.
    const sheddable = this.owned().filter((id) => active.includes(id));
    const surplus = sheddable.slice(0, Math.max(0, this.held.size - share));
    await Promise.all(
      surplus.map(async (accountId) => {
        await tenants.relinquish(accountId, { drain: true });
        const lease = this.drop(accountId);
        if (lease) await leases.release(lease);
        log.info(
          { account_id: accountId, share, members: members.length },
          'tenant handed over (rebalancing)',
        );
      }),
    );
  }

  /**
   * Graceful stop: no more balancing; every tenant drained in parallel while its lease is still
   * renewed, then the leases given back and the members left, so peers take over at once.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stopBalancing?.();
    await this.balancing;
    const owned = this.owned();
    await Promise.all(owned.map((accountId) => this.options.tenants.relinquish(accountId, { drain: true })));
    this.stopRenewing?.();
    await this.renewing;
    for (const accountId of owned) {
      const lease = this.drop(accountId);
      if (lease) await this.options.leases.release(lease).catch(() => undefined);
    }
    await this.options.leases.leave(this.options.workerId).catch(() => undefined);
  }
}
