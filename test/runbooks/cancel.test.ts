import { Readable } from 'node:stream';
import { Keyring, verifyArchive } from '@governor/receipts';
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
