import { RuntimeGateway } from '@governor/ingress';
import { HealthMonitor } from '@governor/governor';
import { harness } from './harness';

describe('runbook 4: degrade to safe mode and heal', () => {
  it('degrades after 3 failed probes, refuses and counts, spools receipts, then heals: chains contiguous, nothing lost', async () => {
    const h = await harness();
    await h.provision('acme');
    const monitor = new HealthMonitor(() => h.ledger.probe(), h.runtime, h.clock, {
      intervalMs: 10_000,
      threshold: 3,
    });
    monitor.start();

    h.ledger.setOutage('DEADLINE_EXCEEDED');
    for (const expected of [false, false, true]) {
      h.clock.increment(10_000);
      await h.settle(10);
      expect(h.runtime.degraded).toBe(expected);
    }
    expect(h.runtime.get('acme')?.phase).toBe('degraded');
    expect(h.alerts.alerts.map((a) => a.code)).toContain('DEGRADED_MODE');

    // Refused explicitly (nack, counted), not lost: the bus redelivers them.
    await h.runtime.submit(h.signal('acme', { signal_id: 'during-1' }));
    await h.runtime.submit(h.signal('acme', { signal_id: 'during-2' }));
    await h.settle();
    expect(h.bus.outstanding).toBe(0);

    h.ledger.setOutage(null);
    h.clock.increment(10_000);
    await h.settle(20);
    expect(h.runtime.degraded).toBe(false);
    h.clock.increment(200); // redelivery of the refused signals
    await h.settle(20);
    await monitor.stop();

    const worker = await h.receipts('workers/worker-1');
    expect(worker.map((r) => r.operation)).toEqual(['degraded_mode', 'degraded_mode_cleared']);
    expect(worker[0]).toMatchObject({
      error_code: 'LEDGER_UNAVAILABLE',
      failure_count: 3,
      affected_tenants: 'all',
    });
    expect(worker[1]).toMatchObject({ downtime_seconds: 10, receipts_spooled: 1 });
    expect(worker[1]?.actions_refused).toBeGreaterThanOrEqual(2);
    const acme = await h.receipts('tenants/acme');
    expect(
      acme
        .filter((r) => r.operation === 'action_complete')
        .map((r) => r.signal_id)
        .sort(),
    ).toEqual(['during-1', 'during-2']);
    expect((await h.verify('workers/worker-1')).ok).toBe(true);
    expect((await h.verify('tenants/acme')).ok).toBe(true);
  });

  it('a commit that failed once spools its chain without safe mode; the next good probe flushes it', async () => {
    const h = await harness();
    await h.provision('acme');
    const monitor = new HealthMonitor(() => h.ledger.probe(), h.runtime, h.clock, {
      intervalMs: 10_000,
      threshold: 3,
    });
    monitor.start();
    h.ledger.failNextAppend(new Error('DEADLINE_EXCEEDED'));
    await h.runtime.submit(h.signal('acme', { signal_id: 'blip' }));
    await h.settle();
    expect(h.runtime.get('acme')?.writer.isSpooling).toBe(true);
    expect((await h.receipts('tenants/acme')).map((r) => r.operation)).toEqual(['entitlement_active']);
    h.clock.increment(10_000);
    await h.settle(20);
    await monitor.stop();
    expect(h.runtime.degraded).toBe(false);
    expect(h.runtime.get('acme')?.writer.isSpooling).toBe(false);
    expect((await h.receipts('tenants/acme')).map((r) => r.operation)).toEqual([
      'entitlement_active',
      'action_complete',
    ]);
    expect((await h.verify('tenants/acme')).ok).toBe(true);
  });

  it('a chain writer whose spool died (no file descriptors) is not left dead behind a ready probe: not ready and alerted, then reopened by the next good probe', async () => {
    const h = await harness();
    await h.provision('acme');
    const gateway = new RuntimeGateway(h.runtime, h.directory, h.ledger);
    const monitor = new HealthMonitor(() => h.ledger.probe(), h.runtime, h.clock, {
      intervalMs: 10_000,
      threshold: 3,
    });
    monitor.start();
    // A commit times out and the spool cannot open a file: the tenant's writer fails.
    h.ledger.failNextAppend(new Error('DEADLINE_EXCEEDED'));
    const append = h.spool.append.bind(h.spool);
    h.spool.append = () =>
      Promise.reject(Object.assign(new Error('EMFILE: too many open files'), { code: 'EMFILE' }));
    await h.runtime.submit(h.signal('acme', { signal_id: 'lost-fd' }));
    await h.settle(20);
    expect(h.runtime.failedChains()).toEqual(['tenants/acme']);
    expect(await gateway.readiness()).toMatchObject({ ready: false, failed_chains: ['tenants/acme'] });
    expect(h.alerts.alerts).toContainEqual(
      expect.objectContaining({ severity: 'critical', code: 'CHAIN_WRITER_FAILED' }),
    );

    // Descriptors are back; the next good probe reopens the writer.
    h.spool.append = append;
    h.clock.increment(10_000);
    await h.settle(20);
    await monitor.stop();
    expect(h.runtime.failedChains()).toEqual([]);
    expect(await gateway.readiness()).toMatchObject({ ready: true });
    // The signal came back to the transport. Its action ran but its completion was never
    // recorded, so it is reconciled (runbook 5: timed out, rolled back); the chain continues.
    h.clock.increment(1_000);
    await h.settle(20);
    expect(await h.ops('tenants/acme')).toEqual([
      'entitlement_active',
      'action_timeout',
      'action_rolled_back',
    ]);
    await h.runtime.submit(h.signal('acme', { signal_id: 'after' }));
    await h.settle(20);
    expect((await h.ops('tenants/acme')).at(-1)).toBe('action_complete');
    expect((await h.verify('tenants/acme')).ok).toBe(true);
  });

  it('one failed probe, or two, does not degrade; a success resets the count', async () => {
    const h = await harness();
    const monitor = new HealthMonitor(() => h.ledger.probe(), h.runtime, h.clock, {
      intervalMs: 10_000,
      threshold: 3,
    });
    h.ledger.setOutage('flaky');
    await monitor.tick();
    await monitor.tick();
    h.ledger.setOutage(null);
    await monitor.tick();
    h.ledger.setOutage('flaky');
    await monitor.tick();
    await monitor.tick();
    expect(h.runtime.degraded).toBe(false);
    await monitor.tick();
    expect(h.runtime.degraded).toBe(true);
  });
});
