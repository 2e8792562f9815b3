import { createServer, type Server } from 'node:http';
import { gcpProject } from '../support/gcp-project';
import { ACTION_SECRET, entitlement, signal, slowPolicy } from '../support/worker-fixtures';
import { startWorker, type WorkerProcess } from '../support/worker-process';

jest.setTimeout(120_000);

/** One Google Cloud "project" on the emulators per test, and the worker's environment for it. */
function project() {
  return gcpProject('worker', { GOVERNOR_ACTION_SECRET: ACTION_SECRET });
}

describe('the worker on Pub/Sub + Firestore + Cloud Storage', () => {
  let p: Awaited<ReturnType<typeof project>>;
  let worker: WorkerProcess | undefined;
  beforeEach(async () => {
    p = await project();
  });
  afterEach(async () => {
    await worker?.stop('SIGKILL');
    worker = undefined;
    await p.cleanup();
  });

  it('provisions from governor.control, runs each signal once (also when published twice), and stops cleanly on SIGTERM', async () => {
    worker = startWorker(p.env);
    await worker.waitFor(/worker ready/);
    // The worker subscribes before it says ready, so the broadcast reaches it.
    await p.stores.control.publish(entitlement('acme', 'professional', 'governor-professional'));
    await p.until('entitlement_active', 'tenants/acme', (b) =>
      b.some((x) => x.operation === 'entitlement_active'),
    );
    expect(await p.stores.bus.topicExists('acme')).toBe(true);

    const ids = Array.from({ length: 20 }, (_, i) => `sig-${i}`);
    for (const id of ids) await p.stores.bus.publish(signal('acme', id));
    // The same signals again: a publisher that retried after a lost answer.
    for (const id of ids.slice(0, 5)) await p.stores.bus.publish(signal('acme', id));
    await p.stores.bus.publish(signal('acme', 'last'));
    const done = await p.until('21 actions', 'tenants/acme', (b) =>
      b.some((x) => x.operation === 'action_complete' && x.signal_id === 'last'),
    );
    // Give the duplicates published before `last` time to be (not) processed; ordering key = account.
    await new Promise((r) => setTimeout(r, 500));
    const complete = (await p.bodies('tenants/acme')).filter((b) => b.operation === 'action_complete');
    expect(complete.map((b) => b.signal_id).sort()).toEqual([...ids, 'last'].sort());
    expect(done.length).toBeGreaterThanOrEqual(22);

    expect(await worker.stop('SIGTERM')).toBe(0);
    expect(worker.lines.some((l) => l.msg === 'stopped')).toBe(true);
    expect(await p.verify('tenants/acme')).toMatchObject({ ok: true, issues: [] });
    // The worker chain holds nothing here (no policy push, no safe mode): empty, on purpose.
    expect(await p.verify('workers/worker-a', { allowEmpty: true })).toMatchObject({ ok: true, count: 0 });
  });

  it('a worker killed with SIGKILL mid-action: the restarted worker reconciles it and the chain stays contiguous', async () => {
    const calls: string[] = [];
    const server: Server = createServer((req, res) => {
      calls.push(req.url ?? '');
      if (req.url === '/rollback') res.end('ok');
      // /hang never answers: the action is still running when the worker dies.
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    await p.stores.registry.put('slowplan', '1.0.0', slowPolicy(port));
    try {
      worker = startWorker(p.env);
      await worker.waitFor(/worker ready/);
      await p.stores.control.publish(entitlement('slowco', 'slowplan', 'slow-sku'));
      await p.until('entitlement_active', 'tenants/slowco', (b) => b.length === 1);
      await p.stores.bus.publish(signal('slowco', 'stuck', 'hang'));
      const deadline = Date.now() + 20_000;
      while (!calls.includes('/hang') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(calls).toEqual(['/hang']);
      expect(await p.stores.ledger.runningActions('tenants/slowco')).toHaveLength(1);
      expect(await worker.stop('SIGKILL')).toBeNull();

      worker = startWorker(p.env);
      // The restarted worker takes its tenant back under its lease and reconciles the action.
      const resumed = await worker.waitFor(/tenant taken over/);
      expect(resumed).toMatchObject({ account_id: 'slowco', reconciled: 1 });
      await worker.waitFor(/worker ready/);
      await p.stores.bus.publish(signal('slowco', 'after'));
      const bodies = await p.until('the signal after the restart', 'tenants/slowco', (b) =>
        b.some((x) => x.signal_id === 'after'),
      );
      expect(bodies.map((b) => b.operation)).toEqual([
        'entitlement_active',
        'action_timeout',
        'action_rolled_back',
        'action_complete',
      ]);
      expect(calls).toEqual(['/hang', '/rollback']);
      expect(await p.stores.ledger.runningActions('tenants/slowco')).toEqual([]);
      expect(await p.verify('tenants/slowco')).toMatchObject({ ok: true, issues: [] });
      // The killed worker never acked `stuck`: Pub/Sub hands it to the new worker, which
      // finds its action in the log and runs nothing (no second receipt, checked above).
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
