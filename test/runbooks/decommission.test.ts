import { Readable } from 'node:stream';
import { Keyring, verifyArchive } from '@governor/receipts';
import type { TenantRecord } from '@governor/governor';
import { harness } from './harness';

describe('runbook 7: customer cancels', () => {
  it('stops accepting at once, drains in-flight actions, archives the chain, deletes the topic, and reports the counts', async () => {
    const h = await harness();
    await h.provision('acme');
    await h.runtime.submit(h.signal('acme', { signal_id: 'fast' }));
    await h.settle();
    for (let i = 0; i < 3; i++)
      await h.runtime.submit(h.signal('acme', { action_kind: 'webhook', params: { mode: 'slow' } }));
    await h.settle();

    const cancelled = await h.runtime.cancel('acme', 'customer_request');
    expect(cancelled).not.toBeNull();
    const start = (await h.receipts('tenants/acme')).find((r) => r.operation === 'decommission_start');
    expect(start).toMatchObject({
      receipt_id: cancelled?.receipt_id,
      in_flight_actions: 3,
      cancellation_reason: 'customer_request',
    });
    expect(h.runtime.get('acme')?.phase).toBe('draining');

    // A signal arriving while draining is refused with a receipt, not run.
    await h.runtime.submit(h.signal('acme', { signal_id: 'late' }));
    await h.settle();
    expect((await h.receipts('tenants/acme')).find((r) => r.signal_id === 'late')).toMatchObject({
      operation: 'action_refused',
      reason: 'draining',
    });

    h.clock.increment(500); // the slow ones time out and roll back
    const done = await cancelled?.done;
    const receipts = await h.receipts('tenants/acme');
    const complete = receipts.at(-1);
    expect(complete).toMatchObject({
      operation: 'decommission_complete',
      actions_completed: 0,
      actions_failed: 3,
      archive_gcs_path: done?.archive,
      receipts_archived: receipts.length - 1,
    });
    expect(await h.bus.topicExists('acme')).toBe(false);
    expect(await h.directory.get('acme')).toMatchObject({ state: 'decommissioned' });
    expect(h.runtime.get('acme')?.phase).toBe('decommissioned');

    const name = String(done?.archive).replace('memory://', '');
    const archive = await h.archive.get(name);
    expect(archive?.length).toBe(complete?.archive_size_bytes);
    const report = await verifyArchive(Readable.from([archive as Buffer]), {
      keyring: new Keyring(h.keys),
      threads: 0,
    });
    expect(report).toMatchObject({ ok: true, manifest: { count: receipts.length - 1 } });
    expect((await h.verify('tenants/acme')).ok).toBe(true);
    expect(await h.runtime.cancel('acme')).toBeNull();
  });
});

describe('runbook 7: a tenant cancelled again, and a decommission that fails', () => {
  it('a second cancellation of the same account on the same day archives under a name of its own: both archives kept, both verify', async () => {
    const h = await harness();
    const archives: string[] = [];
    for (const entitlement of ['ent-acme-1', 'ent-acme-2']) {
      await h.runtime.provision({
        entitlement_id: entitlement,
        account_id: 'acme',
        sku_id: 'governor-professional',
        plan_type: 'professional',
        region: 'us-central1',
      });
      await h.runtime.submit(h.signal('acme'));
      await h.settle();
      const cancelled = await h.runtime.cancel('acme', 'customer_request');
      archives.push((await cancelled?.done)?.archive ?? '');
    }
    expect(new Set(archives).size).toBe(2);
    for (const path of archives) {
      const archive = await h.archive.get(path.replace('memory://', ''));
      const report = await verifyArchive(Readable.from([archive as Buffer]), {
        keyring: new Keyring(h.keys),
        threads: 0,
      });
      expect(report.ok).toBe(true);
    }
    expect((await h.ops('tenants/acme')).filter((op) => op === 'decommission_complete')).toHaveLength(2);
    expect(await h.directory.get('acme')).toMatchObject({ state: 'decommissioned' });
  });

  it('a failure inside the background decommission becomes a decommission_failed receipt and a critical alert, never an unhandled rejection', async () => {
    const h = await harness();
    await h.provision('acme');
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      h.archive.put = () => Promise.reject(new Error('the archive store is gone'));
      const cancelled = await h.runtime.cancel('acme', 'customer_request', 'corr-1');
      // Nobody awaits `done` (the HTTP edge answers on decommission_start): it must not crash.
      await h.settle(20);
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(unhandled).toEqual([]);
      await expect(cancelled?.done).rejects.toThrow('the archive store is gone');
      const failed = (await h.receipts('tenants/acme')).at(-1);
      expect(failed).toMatchObject({
        operation: 'decommission_failed',
        status: 'failed',
        account_id: 'acme',
        correlation_id: 'corr-1',
        error_message: expect.stringContaining('the archive store is gone'),
      });
      expect(h.alerts.alerts).toContainEqual(
        expect.objectContaining({ severity: 'critical', code: 'DECOMMISSION_FAILED', account_id: 'acme' }),
      );
      expect((await h.verify('tenants/acme')).ok).toBe(true);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
  it('a decommission that failed is recorded as draining and started again by the next runtime (a restart), which finishes it', async () => {
    const h = await harness();
    await h.provision('acme');
    const put = h.archive.put.bind(h.archive);
    h.archive.put = () => Promise.reject(new Error('the archive store is gone'));
    const cancelled = await h.runtime.cancel('acme', 'customer_request');
    await expect(cancelled?.done).rejects.toThrow('the archive store is gone');
    expect(await h.directory.get('acme')).toMatchObject({ state: 'draining' });
    await h.runtime.stop({ drain: false });

    h.archive.put = put;
    const restarted = await h.peer('worker-1');
    expect(await restarted.resume()).toEqual({ tenants: 1, reconciled: 0 });
    expect(restarted.get('acme')?.phase).toBe('draining');
    expect(restarted.served()).toEqual([]);
    await restarted.stop();
    expect(await h.directory.get('acme')).toMatchObject({ state: 'decommissioned' });
    expect(await h.ops('tenants/acme')).toEqual([
      'entitlement_active',
      'decommission_start',
      'decommission_failed',
      'decommission_start',
      'decommission_complete',
    ]);
    expect((await h.verify('tenants/acme')).ok).toBe(true);
    // And a create for the account while it drains is refused, not provisioned over it.
    await h.directory.put({ ...((await h.directory.get('acme')) as TenantRecord), state: 'draining' });
    const fresh = await h.peer('worker-1');
    await expect(
      fresh.provision({
        entitlement_id: 'ent-acme',
        account_id: 'acme',
        sku_id: 'governor-professional',
        plan_type: 'professional',
        region: 'us-central1',
      }),
    ).rejects.toMatchObject({ code: 'ENTITLEMENT_CONFLICT' });
  });
});

describe('runbook 7: a cancel that cannot be recorded', () => {
  it('a cancellation_reason that cannot be written into a receipt throws and leaves the tenant active', async () => {
    const h = await harness();
    await h.provision('acme');
    await expect(h.runtime.cancel('acme', 'x\ud800y')).rejects.toThrow();
    expect(h.runtime.get('acme')?.phase).toBe('normal');
    expect(await h.directory.get('acme')).toMatchObject({ state: 'active' });
    expect(await h.ops('tenants/acme')).toEqual(['entitlement_active']);
    // And it can still be cancelled properly.
    const cancelled = await h.runtime.cancel('acme', 'customer_request');
    await cancelled?.done;
    expect((await h.ops('tenants/acme')).at(-1)).toBe('decommission_complete');
  });
});
