import type { ChainWriter } from '../../chain/chain-writer';
import type { Host } from '../context';

/** Every chain the host writes: its worker chain and one per tenant. */
export function writers(host: Host): ChainWriter[] {
  return [host.worker, ...host.list().map((g) => g.writer)];
}

/**
 * Runbook 4: when the store fails its probes, every governor refuses actions and receipts
 * spool locally (`degrade`); when it answers again, every spool reaches the ledger in order
 * and the governors resume (`recover`). Driven by the health monitor.
 */
export class SafeMode {
  private degradedSince: number | null = null;

  constructor(private readonly host: Host) {}

  get degraded(): boolean {
    return this.degradedSince !== null;
  }

  /**
   * Writers whose commit failed (a dead spool: no file descriptor left, a full disk) are picked
   * up again at the durable head once the store answers, rather than left dead behind a ready
   * probe until a restart. One that still fails is tried again after the next good probe.
   */
  private async reopenFailed(): Promise<void> {
    for (const writer of writers(this.host)) {
      if (!writer.isFailed) continue;
      const reopened = await writer.reopen().catch(() => false);
      if (reopened)
        this.host.deps.alerts.alert({
          severity: 'warning',
          code: 'CHAIN_WRITER_REOPENED',
          message: `${writer.chain} is written again, from seq ${writer.size}`,
          details: { chain: writer.chain },
        });
    }
  }

  /** Runbook 4, entry: the store failed its probes `failures` times in a row. */
  async degrade(errorCode: string, failures: number): Promise<void> {
    if (this.degradedSince !== null) return;
    this.degradedSince = this.host.deps.clock.now();
    for (const g of this.host.list()) if (g.phase === 'normal') g.send({ type: 'DEGRADE' });
    this.host.deps.alerts.alert({
      severity: 'critical',
      code: 'DEGRADED_MODE',
      message: `store unavailable (${errorCode}) after ${failures} failed probes: refusing actions`,
    });
    // Spooled, since the store is down: it reaches the ledger, in order, on recovery.
    await this.host.worker.emit({
      operation: 'degraded_mode',
      status: 'degraded',
      duration_ms: 0,
      worker_id: this.host.deps.workerId,
      reason: 'firestore_unavailable',
      error_code: errorCode,
      failure_count: failures,
      affected_tenants: 'all',
      alert_severity: 'critical',
    }).durable;
  }

  /** Runbook 4, exit: the store answers again. Flushes every spool in order, then resumes. */
  async recover(): Promise<void> {
    if (this.degradedSince === null) return;
    await this.reopenFailed();
    const downtime = Math.round((this.host.deps.clock.now() - this.degradedSince) / 1000);
    let spooled = await this.host.worker.recover();
    let refused = 0;
    for (const g of this.host.list()) {
      spooled += await g.writer.recover();
      refused += g.takeRefusedCount();
      if (g.phase === 'degraded') g.send({ type: 'RECOVER' });
    }
    this.degradedSince = null;
    await this.host.worker.emit({
      operation: 'degraded_mode_cleared',
      status: 'recovered',
      duration_ms: 0,
      worker_id: this.host.deps.workerId,
      reason: 'firestore_recovered',
      downtime_seconds: downtime,
      actions_refused: refused,
      receipts_spooled: spooled,
    }).durable;
  }

  /**
   * A single commit can fail (a timeout) without the probes ever failing enough for safe mode;
   * its chain then spools. Called after each good probe, this sends such spools to the ledger.
   */
  async flushSpools(): Promise<number> {
    if (this.degradedSince !== null) return 0;
    await this.reopenFailed();
    let flushed = 0;
    for (const writer of writers(this.host)) if (writer.isSpooling) flushed += await writer.recover();
    return flushed;
  }
}
