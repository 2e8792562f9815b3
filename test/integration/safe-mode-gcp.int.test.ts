import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openGcpStores, seedPolicies, type GcpStores } from '@governor/adapters-gcp';
import { FileSpool } from '@governor/adapters-local';
import { GovernorRuntime, HealthMonitor, noopHandler, systemClock, type Signal } from '@governor/governor';
import { Keyring, SigningKey, verifyLines } from '@governor/receipts';
import { backends, uniqueName } from '../support/backends';
import { PrivateFirestore } from '../support/private-firestore';

jest.setTimeout(120_000);

const POLICIES = join(__dirname, '..', '..', 'policies');
const key = SigningKey.fromSeed(Buffer.alloc(32, 9));
const keyring = new Keyring([key.publicEntry('2026-01-01T00:00:00.000Z')]);

interface Body {
  operation: string;
  signal_id?: string;
  actions_refused?: number;
  receipts_spooled?: number;
}

/**
 * Runbook 4 for real: the governor's Firestore (an emulator of this test's own) is paused or
 * killed under a running worker on Pub/Sub, while signals keep arriving.
 */
describe('safe mode on the emulators: Firestore paused, and killed and restarted', () => {
  let firestore: PrivateFirestore;
  let stores: GcpStores;
  let runtime: GovernorRuntime;
  let monitor: HealthMonitor;
  let spoolDir: string;
  let projectId: string;
  const alerts: string[] = [];

  beforeAll(async () => {
    firestore = await PrivateFirestore.start();
  });
  afterAll(() => firestore.stop());

  beforeEach(async () => {
    projectId = uniqueName('safe');
    spoolDir = await mkdtemp(join(tmpdir(), 'governor-spool-'));
    stores = await openGcpStores({
      projectId,
      bucket: uniqueName('bucket'),
      workerId: 'worker-1',
      pubsubEmulatorHost: backends.pubsub,
      firestoreEmulatorHost: firestore.host,
      storageEmulatorHost: backends.gcs,
      // Long enough for a cold client's first call; a paused store still degrades within seconds.
      deadlineMs: 1_500,
      redeliveryDelayMs: 200,
      log: () => undefined,
    });
    await seedPolicies(stores.registry, POLICIES);
    // A cold client's first calls can take longer than the short deadline on a busy machine:
    // wait until the store answers within it, so only the outage under test fails calls.
    await until(
      'a warm Firestore client',
      () =>
        stores.ledger.probe().then(
          () => true,
          () => false,
        ),
      30_000,
    );
    runtime = await GovernorRuntime.start({
      workerId: 'worker-1',
      ledger: stores.ledger,
      directory: stores.directory,
      bus: stores.bus,
      archive: stores.archive,
      registry: stores.registry,
      witness: stores.witness,
      spool: new FileSpool(spoolDir),
      handlers: { noop: noopHandler, http: noopHandler },
      alerts: { alert: (a) => alerts.push(a.code) },
      clock: systemClock,
      signer: key,
      keys: keyring.entries(),
    });
    monitor = new HealthMonitor(() => stores.ledger.probe(), runtime, systemClock, {
      intervalMs: 250,
      threshold: 3,
    });
    monitor.start();
    const provisioned = await runtime.provision({
      entitlement_id: 'ent-acme',
      account_id: 'acme',
      sku_id: 'governor-professional',
      plan_type: 'professional',
      region: 'us-central1',
    });
    expect(provisioned.ok).toBe(true);
  });

  afterEach(async () => {
    await monitor.stop();
    await runtime.stop();
    await stores.close();
    await rm(spoolDir, { recursive: true, force: true });
  });

  const signal = (id: string): Signal => ({
    signal_id: id,
    account_id: 'acme',
    type: 'action',
    action_kind: 'noop',
    params: {},
    published_at: Date.now(),
  });

  async function bodies(chain: string): Promise<Body[]> {
    const out: Body[] = [];
    for await (const r of stores.ledger.read(chain)) out.push(JSON.parse(r.body) as Body);
    return out;
  }

  async function until(what: string, done: () => boolean | Promise<boolean>, timeoutMs = 60_000) {
    const deadline = Date.now() + timeoutMs;
    while (!(await done())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  const completed = async () =>
    (await bodies('tenants/acme')).filter((b) => b.operation === 'action_complete').map((b) => b.signal_id);

  async function verified(chain: string) {
    const lines: string[] = [];
    for await (const r of stores.ledger.read(chain)) lines.push(JSON.stringify(r));
    return verifyLines(lines, { keyring, threads: 0, expectedChain: chain });
  }

  /** What both outages must end with: every signal run once, contiguous chains, the runbook-4 receipts. */
  async function expectHealed(ids: string[]) {
    await until(
      'every signal processed after recovery',
      async () => (await completed()).length >= ids.length,
    );
    expect((await completed()).sort()).toEqual([...ids].sort());
    expect(await verified('tenants/acme')).toMatchObject({ ok: true, issues: [] });
    expect(await verified('workers/worker-1')).toMatchObject({ ok: true, issues: [] });
    const worker = await bodies('workers/worker-1');
    const cleared = worker.find((b) => b.operation === 'degraded_mode_cleared');
    expect(worker.map((b) => b.operation)).toEqual(['degraded_mode', 'degraded_mode_cleared']);
    // Signals arrived during the outage and were refused (nacked), not lost.
    expect(cleared?.actions_refused).toBeGreaterThan(0);
    expect(alerts).toContain('DEGRADED_MODE');
  }

  it('paused (SIGSTOP) until the governor degrades, then resumed: refused signals run after recovery', async () => {
    const before = ['p0', 'p1', 'p2'];
    for (const id of before) await stores.bus.publish(signal(id));
    await until('the first signals', async () => (await completed()).length === 3);

    firestore.pause();
    await until('safe mode', () => runtime.degraded, 20_000);
    const during = Array.from({ length: 8 }, (_, i) => `d${i}`);
    for (const id of during) await stores.bus.publish(signal(id));
    // Let the refused signals come back and be refused again a few times.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(runtime.degraded).toBe(true);
    firestore.resume();
    await until('recovery', () => !runtime.degraded, 20_000);
    await expectHealed([...before, ...during]);
  });

  it('killed (SIGKILL) and restarted from what it had stored: the chain continues, nothing is lost', async () => {
    const before = ['k0', 'k1'];
    for (const id of before) await stores.bus.publish(signal(id));
    await until('the first signals', async () => (await completed()).length === 2);
    // The emulator keeps nothing across a restart; a real Firestore keeps every commit. The
    // export stands in for that durable storage (taken while no commit is in flight).
    await firestore.exportData(projectId);
    firestore.kill();
    await until('safe mode', () => runtime.degraded, 20_000);
    const during = Array.from({ length: 6 }, (_, i) => `e${i}`);
    for (const id of during) await stores.bus.publish(signal(id));
    await new Promise((r) => setTimeout(r, 1_000));
    firestore.restart();
    await until('recovery', () => !runtime.degraded, 60_000);
    await expectHealed([...before, ...during]);
  });
});
