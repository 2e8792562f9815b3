import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { gcpProject, waitUntil } from '../support/gcp-project';
import { ACTION_SECRET, entitlement, signal, slowPolicy } from '../support/worker-fixtures';
import { startWorker, type WorkerProcess } from '../support/worker-process';

// Tenant ownership across worker processes on the emulators: leases in Firestore with a
// fencing epoch on every chain. Short leases so takeovers happen within the test.
jest.setTimeout(180_000);

const LEASE_MS = 2_000;

function project() {
  return gcpProject('scale', {
    GOVERNOR_ACTION_SECRET: ACTION_SECRET,
    GOVERNOR_LEASE_MS: String(LEASE_MS),
    GOVERNOR_DRAIN_TIMEOUT_MS: '2000',
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An http endpoint for the `hang` action that holds /hang until released, and records calls. */
async function hangServer() {
  const calls: string[] = [];
  const held: ServerResponse[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    calls.push(req.url ?? '');
    req.resume();
    if (req.url === '/hang') held.push(res);
    else res.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    port,
    calls,
    release: () => held.splice(0).forEach((res) => res.end('ok')),
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

describe('scale-out: tenants shared by worker processes through leases', () => {
  let p: Awaited<ReturnType<typeof project>>;
  const workers: WorkerProcess[] = [];
  const start = async (id: string) => {
    const w = startWorker({ ...p.env, GOVERNOR_WORKER_ID: id });
    workers.push(w);
    await w.waitFor(/worker ready/);
    return w;
  };
  const holders = async () =>
    new Map(
      (await p.stores.leases.list())
        .filter((l) => l.expires_at > Date.now())
        .map((l) => [l.account_id, l.holder]),
    );
  beforeEach(async () => {
    p = await project();
  });
  afterEach(async () => {
    for (const w of workers.splice(0)) {
      w.child.kill('SIGCONT');
      await w.stop('SIGKILL');
    }
    await p.cleanup();
  });

  it('two workers on six tenants: each tenant owned by exactly one, shares balanced, every signal run once, chains contiguous', async () => {
    const a = await start('worker-a');
    const b = await start('worker-b');
    const tenants = ['t-alpha', 't-bravo', 't-charlie', 't-delta', 't-echo', 't-foxtrot'];
    for (const t of tenants) await p.stores.control.publish(entitlement(t, 'starter', 'governor-starter'));
    for (const t of tenants)
      await p.until('entitlement_active', `tenants/${t}`, (x) =>
        x.some((r) => r.operation === 'entitlement_active'),
      );
    const owners = await waitUntil('a balanced share', async () => {
      const h = await holders();
      const counts = [...h.values()].reduce(
        (m, w) => m.set(w, (m.get(w) ?? 0) + 1),
        new Map<string, number>(),
      );
      return h.size === 6 && counts.get('worker-a') === 3 && counts.get('worker-b') === 3 ? h : null;
    });
    expect(new Set(owners.values())).toEqual(new Set(['worker-a', 'worker-b']));

    for (const t of tenants) for (let i = 0; i < 5; i++) await p.stores.bus.publish(signal(t, `${t}-s${i}`));
    for (const t of tenants) {
      const chain = await p.until(
        '5 actions',
        `tenants/${t}`,
        (x) => x.filter((r) => r.operation === 'action_complete').length >= 5,
      );
      expect(
        chain
          .filter((r) => r.operation === 'action_complete')
          .map((r) => r.signal_id)
          .sort(),
      ).toEqual([0, 1, 2, 3, 4].map((i) => `${t}-s${i}`));
    }
    await sleep(500);
    for (const t of tenants) {
      expect((await p.bodies(`tenants/${t}`)).filter((r) => r.operation === 'action_complete')).toHaveLength(
        5,
      );
      expect(await p.verify(`tenants/${t}`)).toMatchObject({ ok: true, issues: [] });
    }
    // A graceful stop hands the leaving worker's tenants to the other at once.
    expect(await a.stop('SIGTERM')).toBe(0);
    await waitUntil('worker-b holding all six', async () => {
      const h = await holders();
      return h.size === 6 && [...h.values()].every((w) => w === 'worker-b');
    });
    for (const t of tenants) await p.stores.bus.publish(signal(t, `${t}-after`));
    for (const t of tenants) {
      await p.until('the signal after the hand-over', `tenants/${t}`, (x) =>
        x.some((r) => r.signal_id === `${t}-after`),
      );
      expect(await p.verify(`tenants/${t}`)).toMatchObject({ ok: true, issues: [] });
    }
    expect(b.lines.filter((l) => l.msg === 'tenant taken over').length).toBeGreaterThanOrEqual(3);
  });

  it('the owner paused past its lease: the other takes over and reconciles; resumed, the old owner is fenced and lets go; no fork', async () => {
    const http = await hangServer();
    try {
      await p.stores.registry.put('slowplan', '1.0.0', slowPolicy(http.port));
      const a = await start('worker-a');
      await p.stores.control.publish(entitlement('slowco', 'slowplan', 'slow-sku'));
      await p.until('entitlement_active', 'tenants/slowco', (x) => x.length === 1);
      const b = await start('worker-b');
      expect((await holders()).get('slowco')).toBe('worker-a');
      await p.stores.bus.publish(signal('slowco', 'stuck', 'hang'));
      await waitUntil('the action to call out', () => http.calls.includes('/hang'));

      a.child.kill('SIGSTOP');
      const paused = Date.now();
      const takeover = await b.waitFor(/tenant taken over/, 30_000);
      expect(takeover).toMatchObject({ account_id: 'slowco', reconciled: 1, previous_holder: 'worker-a' });
      expect(Date.now() - paused).toBeLessThanOrEqual(LEASE_MS + 2_000 + 1_000);
      await p.until('the rollback by the new owner', 'tenants/slowco', (x) =>
        x.some((r) => r.operation === 'action_rolled_back'),
      );

      // The old owner wakes up with its action answered: its commit is refused, and it lets go.
      http.release();
      a.child.kill('SIGCONT');
      await a.waitFor(/LEASE_LOST|fenced|gave up/i, 20_000);
      await sleep(1_000);
      const chain = await p.bodies('tenants/slowco');
      expect(chain.map((r) => r.operation)).toEqual([
        'entitlement_active',
        'action_timeout',
        'action_rolled_back',
      ]);
      expect(await p.verify('tenants/slowco')).toMatchObject({ ok: true, issues: [] });

      await p.stores.bus.publish(signal('slowco', 'after'));
      const after = await p.until('a signal after the takeover', 'tenants/slowco', (x) =>
        x.some((r) => r.signal_id === 'after'),
      );
      expect(after.map((r) => r.operation)).toEqual([
        'entitlement_active',
        'action_timeout',
        'action_rolled_back',
        'action_complete',
      ]);
      expect((await holders()).get('slowco')).toBe('worker-b');
      expect(await p.verify('tenants/slowco')).toMatchObject({ ok: true, issues: [] });
    } finally {
      http.close();
    }
  });

  it('the owner killed mid-action: taken over within one lease period + 2 s, the action reconciled', async () => {
    const http = await hangServer();
    try {
      await p.stores.registry.put('slowplan', '1.0.0', slowPolicy(http.port));
      const a = await start('worker-a');
      await p.stores.control.publish(entitlement('slowco', 'slowplan', 'slow-sku'));
      await p.until('entitlement_active', 'tenants/slowco', (x) => x.length === 1);
      const b = await start('worker-b');
      await p.stores.bus.publish(signal('slowco', 'stuck', 'hang'));
      await waitUntil('the action to call out', () => http.calls.includes('/hang'));
      expect(await a.stop('SIGKILL')).toBeNull();
      const killed = Date.now();
      const takeover = await b.waitFor(/tenant taken over/, 30_000);
      const ms = Date.now() - killed;
      expect(takeover).toMatchObject({ account_id: 'slowco', reconciled: 1 });
      expect(ms).toBeLessThanOrEqual(LEASE_MS + 2_000);
      const chain = await p.until('the rollback', 'tenants/slowco', (x) =>
        x.some((r) => r.operation === 'action_rolled_back'),
      );
      expect(chain.map((r) => r.operation)).toEqual([
        'entitlement_active',
        'action_timeout',
        'action_rolled_back',
      ]);
      expect(http.calls).toEqual(['/hang', '/rollback']);
      expect(await p.stores.ledger.runningActions('tenants/slowco')).toEqual([]);
      expect(await p.verify('tenants/slowco')).toMatchObject({ ok: true, issues: [] });
    } finally {
      http.close();
    }
  });
});
