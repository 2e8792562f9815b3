import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileLedger, LogAlertSink, loadSigningKey, openLocalStores } from '@governor/adapters-local';
import { GovernorRuntime, noopHandler, systemClock } from '@governor/governor';
import { edgeClient, entitlementEvent, runCli, startGovernorProcess } from '../support/governor-start';

// Issue 12 item 10: a 202 means the signal is durable. On the embedded default, a governor killed
// with SIGKILL right after answering must run every signal it answered 202, once, after restart.
jest.setTimeout(180_000);

const SIGNALS = 600;
const AT_ONCE = 50;

describe('governor start killed with SIGKILL after answering 202', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'governor-crash-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('runs every signal it accepted once it is started again: each has exactly one receipt', async () => {
    const data = join(dir, 'data');
    const first = await startGovernorProcess(data);
    const client = edgeClient(first.url, first.secrets);
    expect((await client.webhook(entitlementEvent('entitlement.created', 'acme'))).status).toBe(200);

    const accepted: string[] = [];
    for (let i = 0; i < SIGNALS; i += AT_ONCE) {
      const answers = await Promise.all(
        Array.from({ length: AT_ONCE }, () =>
          client.post('/v1/tenants/acme/signals', { action_kind: 'noop' }),
        ),
      );
      for (const a of answers) if (a.status === 202) accepted.push(a.body.signal_id as string);
    }
    expect(await first.stop('SIGKILL')).toBeNull();
    // Most were answered; a few may have met a full queue (429), and those are not counted.
    expect(accepted.length).toBeGreaterThan(SIGNALS / 2);

    const second = await startGovernorProcess(data);
    const ledger = await FileLedger.open(join(data, 'ledger'));
    const receiptsOf = async () => {
      const bySignal = new Map<string, string[]>();
      for await (const r of ledger.read('tenants/acme')) {
        const body = JSON.parse(r.body) as { signal_id?: string; action_id?: string; operation: string };
        // Action receipts name the action (its id is the signal's with a suffix); refusals the signal.
        const id = body.signal_id ?? body.action_id?.replace(/-a0$/, '');
        if (id) bySignal.set(id, [...(bySignal.get(id) ?? []), body.operation]);
      }
      return bySignal;
    };
    const deadline = Date.now() + 60_000;
    let bySignal = await receiptsOf();
    while (accepted.some((id) => !bySignal.has(id)) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      bySignal = await receiptsOf();
    }
    expect(await second.stop('SIGTERM')).toBe(0);
    bySignal = await receiptsOf();

    const missing = accepted.filter((id) => !bySignal.has(id));
    expect({ accepted: accepted.length, missing: missing.length }).toEqual({
      accepted: accepted.length,
      missing: 0,
    });
    // One outcome each: completed once, or (running at the kill) timed out and rolled back.
    const outcomes = new Map<string, number>();
    for (const id of accepted) {
      const ops = (bySignal.get(id) ?? []).join(',');
      outcomes.set(ops, (outcomes.get(ops) ?? 0) + 1);
    }
    const expected = ['action_complete', 'action_timeout,action_rolled_back'];
    expect([...outcomes].filter(([ops]) => !expected.includes(ops))).toEqual([]);
  });
});

/** A port nobody listens on now. */
async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('governor start with actions to reconcile whose rollback endpoint never answers', () => {
  let dir: string;
  let silent: Server;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'governor-resume-'));
    // Takes every request and never answers it.
    silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    silent.closeAllConnections();
    await new Promise((resolve) => silent.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  it('listens at once: /readyz says starting (503) while the tenants are reconciled, then ready', async () => {
    const data = join(dir, 'data');
    const { port: silentPort } = silent.address() as { port: number };
    const endpoint = `http://127.0.0.1:${silentPort}/actions/webhook`;
    // A crash left 5 webhook actions running; each rollback waits out its 2 s timeout.
    const stores = await openLocalStores(data);
    const { signer, keyring } = await loadSigningKey(data);
    const starter = JSON.parse(
      readFileSync(join(__dirname, '..', '..', 'policies', 'starter', '1.0.0.json'), 'utf8'),
    ) as Record<string, unknown>;
    await stores.registry.put('slowplan', '1.0.0', {
      ...starter,
      plan_type: 'slowplan',
      skus: ['governor-slow'],
      actions: {
        webhook: {
          handler: 'http',
          endpoint,
          timeout_ms: 2_000,
          recoverable: true,
          rollback: { endpoint: `${endpoint}/rollback` },
        },
      },
    });
    const setup = await GovernorRuntime.start({
      workerId: 'setup',
      ...stores,
      handlers: { noop: noopHandler, http: noopHandler },
      alerts: new LogAlertSink(() => undefined),
      clock: systemClock,
      signer,
      keys: keyring.entries(),
    });
    const provisioned = await setup.provision({
      entitlement_id: 'ent-acme',
      account_id: 'acme',
      sku_id: 'governor-slow',
      plan_type: 'slowplan',
      region: 'us-central1',
    });
    expect(provisioned.ok).toBe(true);
    for (let i = 0; i < 5; i++)
      await stores.ledger.putActions('tenants/acme', [
        {
          action_id: `stuck-${i}-a0`,
          kind: 'webhook',
          signal_id: `stuck-${i}`,
          state: 'running',
          deadline_at: Date.now() + 2_000,
          recoverable: true,
          started_at: Date.now(),
          started_seq: 1,
        },
      ]);
    await setup.stop();
    await stores.close();

    const port = await freePort();
    const run = runCli(['start', '--port', String(port), '--data-dir', data], {
      GOVERNOR_ACTION_SECRET: `whsec_${Buffer.alloc(24, 7).toString('base64')}`,
    });
    try {
      const answers: { status: number; starting: boolean }[] = [];
      const deadline = Date.now() + 60_000;
      while (answers.at(-1)?.status !== 200 && Date.now() < deadline && run.child.exitCode === null) {
        try {
          const res = await fetch(`http://127.0.0.1:${port}/readyz`);
          const body = (await res.json()) as { details?: { starting?: boolean } };
          answers.push({ status: res.status, starting: body.details?.starting === true });
        } catch {
          // Not listening yet.
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      // The first answer came while the five rollbacks were still being waited for.
      expect(answers[0]).toEqual({ status: 503, starting: true });
      expect(answers.at(-1)).toEqual({ status: 200, starting: false });
      expect(run.stdout()).toMatch(/url\s+http:/);
    } finally {
      run.child.kill('SIGTERM');
      await run.exit;
    }
    const ledger = await FileLedger.open(join(data, 'ledger'));
    const ops: string[] = [];
    for await (const r of ledger.read('tenants/acme'))
      ops.push((JSON.parse(r.body) as { operation: string }).operation);
    expect(ops.filter((op) => op === 'action_timeout')).toHaveLength(5);
  });
});
