import { join } from 'node:path';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { GovernorRuntime } from '@governor/governor';
import { Keyring, verifyLines } from '@governor/receipts';
import { spawnTs } from '@governor/testkit';
import { CRASH_KEY, fileRuntimeDeps } from './support/file-stores';
import { harness } from './harness';

describe('runbook 5: actions, timeouts and rollback', () => {
  it('a signal runs an action and is acked once its receipt is durable', async () => {
    const h = await harness();
    await h.provision('acme');
    await h.runtime.submit(h.signal('acme', { correlation_id: 'corr-1' }));
    await h.settle();
    expect(await h.ops('tenants/acme')).toEqual(['entitlement_active', 'action_complete']);
    expect((await h.receipts('tenants/acme'))[1]).toMatchObject({
      correlation_id: 'corr-1',
      action_kind: 'noop',
    });
    expect(h.bus.outstanding).toBe(0);
  });

  it('a slow action times out at 500 ms simulated and is rolled back; a failing one is rolled back; an unrecoverable one escalates', async () => {
    const h = await harness();
    await h.provision('acme');
    await h.runtime.submit(h.signal('acme', { action_kind: 'webhook', params: { mode: 'slow' } }));
    await h.runtime.submit(h.signal('acme', { action_kind: 'webhook', params: { mode: 'fail' } }));
    await h.runtime.submit(h.signal('acme', { action_kind: 'report', params: { mode: 'fail' } }));
    await h.settle();
    h.clock.increment(499);
    await h.settle();
    expect(await h.ops('tenants/acme')).not.toContain('action_timeout');
    h.clock.increment(1);
    await h.settle();
    const receipts = await h.receipts('tenants/acme');
    expect(receipts.map((r) => [r.operation, r.action_kind ?? null, r.escalated ?? null])).toEqual(
      expect.arrayContaining([
        ['action_failed', 'webhook', false],
        ['action_failed', 'report', true],
        ['action_timeout', 'webhook', null],
      ]),
    );
    expect(receipts.filter((r) => r.operation === 'action_rolled_back')).toHaveLength(2);
    expect(h.alerts.alerts.map((a) => a.code)).toEqual(['ACTION_ESCALATED']);
    expect((await h.verify('tenants/acme')).ok).toBe(true);
  });

  it('never runs more than the in-flight limit; the rest wait and count as lag', async () => {
    const h = await harness();
    await h.provision('acme');
    for (let i = 0; i < 25; i++)
      await h.runtime.submit(h.signal('acme', { action_kind: 'webhook', params: { mode: 'slow' } }));
    await h.settle();
    const governor = h.runtime.get('acme');
    expect(governor?.inFlight).toBe(20);
    expect(governor?.lag).toBe(5);
    h.clock.increment(500);
    await h.settle(20);
    expect(governor?.inFlight).toBe(5);
    expect(governor?.lag).toBe(0);
  });

  it('an action kind the policy does not permit is refused with a receipt', async () => {
    const h = await harness();
    await h.provision('acme');
    await h.runtime.submit(h.signal('acme', { action_kind: 'launch-missiles' }));
    await h.settle();
    expect((await h.receipts('tenants/acme'))[1]).toMatchObject({
      operation: 'action_refused',
      reason: 'not_permitted',
      action_kind: 'launch-missiles',
    });
  });

  it('a full queue refuses the signal (nack) instead of growing without bound', async () => {
    const h = await harness({ queueCapacity: 2 });
    await h.provision('acme');
    const governor = h.runtime.get('acme');
    const outcomes: string[] = [];
    for (let i = 0; i < 23; i++) {
      outcomes.push(
        governor?.accept({
          signal: h.signal('acme', { action_kind: 'webhook', params: { mode: 'slow' } }),
          ack: () => undefined,
          nack: () => undefined,
        }) ?? '',
      );
      await h.settle(1);
    }
    expect(outcomes.filter((o) => o === 'queue_full')).toHaveLength(1);
  });
});

describe('runbook 5: a rollback endpoint that never answers', () => {
  it("a live rollback is bounded by the action's timeout too: the action is escalated, the slot freed", async () => {
    const h = await harness();
    const hanging = {
      run: () => new Promise<void>(() => undefined),
      rollback: () => new Promise<void>(() => undefined),
    };
    const runtime = await h.peer('worker-2', { handlers: { noop: hanging, http: hanging } });
    await runtime.provision({
      entitlement_id: 'ent-acme',
      account_id: 'acme',
      sku_id: 'governor-professional',
      plan_type: 'professional',
      region: 'us-central1',
    });
    await runtime.submit(h.signal('acme', { action_kind: 'webhook' }));
    await h.settle();
    h.clock.increment(500); // the action times out; its rollback starts and hangs
    await h.settle();
    expect(await h.ops('tenants/acme')).toEqual(['entitlement_active', 'action_timeout']);
    h.clock.increment(500); // the rollback's own bound
    await h.settle(20);
    expect((await h.receipts('tenants/acme')).at(-1)).toMatchObject({
      operation: 'action_failed',
      error_code: 'ROLLBACK_FAILED',
      escalated: true,
    });
    expect(runtime.get('acme')?.inFlight).toBe(0);
  });
});

describe('runbook 5 across a restart: no orphaned action', () => {
  it('a new runtime on the same stores reconciles what the log shows running: timeout, rollback, contiguous chain', async () => {
    const h = await harness();
    await h.provision('acme');
    await h.runtime.submit(h.signal('acme', { action_kind: 'webhook', params: { mode: 'slow' } }));
    await h.runtime.submit(h.signal('acme', { action_kind: 'report', params: { mode: 'slow' } }));
    await h.settle();
    expect(await h.ledger.runningActions('tenants/acme')).toHaveLength(2);
    // The first worker dies here: its subscription goes with it, and no clock tick ever
    // reaches its actions again. A second worker takes over the same stores.
    await h.runtime.stop({ drain: false });
    const second = await h.peer('worker-2');
    expect(await second.resume()).toEqual({ tenants: 1, reconciled: 2 });
    const receipts = await h.receipts('tenants/acme');
    expect(receipts.map((r) => [r.operation, r.action_kind ?? null, r.error_code ?? null])).toEqual([
      ['entitlement_active', null, null],
      ['action_timeout', 'webhook', null],
      ['action_rolled_back', null, null],
      ['action_timeout', 'report', null],
      ['action_failed', 'report', 'ORPHANED'],
    ]);
    expect(receipts[2]?.previous_action_receipt_id).toBe(receipts[1]?.receipt_id);
    expect(await h.ledger.runningActions('tenants/acme')).toEqual([]);
    expect((await h.verify('tenants/acme')).ok).toBe(true);
    // The resumed governor takes new signals.
    await second.submit(h.signal('acme', { signal_id: 'after' }));
    await h.settle();
    expect((await h.receipts('tenants/acme')).at(-1)).toMatchObject({
      operation: 'action_complete',
      signal_id: 'after',
    });
  });
});

describe('runbook 5 across a restart: an action whose outcome is on the chain but not in the log', () => {
  it('is not timed out and rolled back after it completed: the log catches up with the chain, and nothing is said twice', async () => {
    const h = await harness();
    await h.provision('acme');
    await h.runtime.submit(h.signal('acme', { signal_id: 'done' }));
    await h.settle();
    expect(await h.ops('tenants/acme')).toEqual(['entitlement_active', 'action_complete']);
    // What a build that wrote the log apart from the receipts could leave: the worker died
    // after action_complete was durable and before the log said so.
    const actionId = (await h.receipts('tenants/acme'))[1]?.action_id as string;
    await h.ledger.putActions('tenants/acme', [
      {
        action_id: actionId,
        kind: 'noop',
        signal_id: 'done',
        recoverable: true,
        deadline_at: h.clock.now() + 500,
        started_at: h.clock.now(),
        started_seq: 1,
        state: 'running',
      },
    ]);
    await h.runtime.stop({ drain: false });
    const second = await h.peer('worker-2');
    expect(await second.resume()).toEqual({ tenants: 1, reconciled: 1 });
    expect(await h.ops('tenants/acme')).toEqual(['entitlement_active', 'action_complete']);
    expect(await h.ledger.runningActions('tenants/acme')).toEqual([]);
    // Redelivered, it is a duplicate: nothing runs again.
    await second.submit(h.signal('acme', { signal_id: 'done' }));
    await h.settle();
    expect(await h.ops('tenants/acme')).toEqual(['entitlement_active', 'action_complete']);
  });
});

describe('action kinds that name built-in object properties, and a malformed action-log entry', () => {
  it.each(['toString', 'constructor', '__proto__', 'hasOwnProperty', 'valueOf'])(
    'a signal with action_kind %s is refused (not_permitted): no quota charged, nothing left running',
    async (kind) => {
      const h = await harness();
      await h.provision('acme');
      const s = h.signal('acme', { action_kind: kind });
      await h.runtime.submit(s);
      await h.settle();
      expect((await h.receipts('tenants/acme')).at(-1)).toMatchObject({
        operation: 'action_refused',
        signal_id: s.signal_id,
        reason: 'not_permitted',
      });
      expect(await h.ledger.runningActions('tenants/acme')).toEqual([]);
      expect(await h.directory.get('acme')).toMatchObject({ monthly_actions_used: 0 });
      expect(h.runtime.get('acme')?.record.monthly_actions_used).toBe(0);
    },
  );

  it('a start reconciles a malformed running entry with a receipt saying what it found, and starts', async () => {
    const h = await harness();
    await h.provision('acme');
    await h.runtime.stop({ drain: false });
    // What an older build left behind: an entry whose kind is no policy's and whose deadline is gone.
    await h.ledger.putActions('tenants/acme', [
      {
        action_id: 'sig-x-a0',
        kind: 'toString',
        signal_id: 'sig-x',
        recoverable: true,
        deadline_at: null as unknown as number,
        state: 'running',
      },
    ]);
    const second = await h.peer('worker-2');
    expect(await second.resume()).toEqual({ tenants: 1, reconciled: 1 });
    const last = (await h.receipts('tenants/acme')).at(-1);
    expect(last).toMatchObject({
      operation: 'action_failed',
      action_id: 'sig-x-a0',
      error_code: 'MALFORMED_LOG_ENTRY',
      escalated: true,
    });
    expect(String(last?.error_message)).toContain('deadline_at');
    expect(await h.ledger.runningActions('tenants/acme')).toEqual([]);
    expect((await h.verify('tenants/acme')).ok).toBe(true);
    // A second start finds nothing left to reconcile, and the tenant takes signals.
    expect(await (await h.peer('worker-3')).resume()).toEqual({ tenants: 1, reconciled: 0 });
  });
});

describe('reconcile with a rollback endpoint that never answers', () => {
  it("is bounded by the action's timeout: the start goes on, and the action is escalated (ROLLBACK_FAILED)", async () => {
    const h = await harness();
    await h.provision('acme');
    await h.runtime.submit(h.signal('acme', { action_kind: 'webhook', params: { mode: 'slow' } }));
    await h.settle();
    await h.runtime.stop({ drain: false });
    const hanging = {
      run: () => Promise.resolve(),
      rollback: () => new Promise<void>(() => undefined),
    };
    const second = await h.peer('worker-2', { handlers: { noop: hanging, http: hanging } });
    let done = false;
    const resuming = second.resume().then((r) => ((done = true), r));
    for (let i = 0; i < 20 && !done; i++) {
      await h.settle();
      h.clock.increment(100);
    }
    expect(done).toBe(true);
    expect(await resuming).toEqual({ tenants: 1, reconciled: 1 });
    expect((await h.receipts('tenants/acme')).at(-1)).toMatchObject({
      operation: 'action_failed',
      error_code: 'ROLLBACK_FAILED',
      escalated: true,
      error_message: expect.stringContaining('500 ms') as unknown,
    });
  });
});

jest.setTimeout(30_000);

describe('a worker killed with SIGKILL mid-action', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'governor-crash-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('leaves the action in the log; the next worker reconciles it and the chain stays contiguous', async () => {
    const child = spawnTs(join(__dirname, 'support', 'crash-child.ts'), { DATA_DIR: dir });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (c: Buffer) => {
        if (c.toString().includes('running')) resolve();
      });
      child.on('exit', (code) => reject(new Error(`child exited early (${code}): ${stderr}`)));
    });
    const exited = new Promise((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');

    const deps = await fileRuntimeDeps(dir, 'worker-b');
    expect((await deps.ledger.runningActions('tenants/acme')).map((a) => a.signal_id)).toEqual(['slow-1']);
    const runtime = await GovernorRuntime.start(deps);
    expect(await runtime.resume()).toEqual({ tenants: 1, reconciled: 1 });

    await runtime.submit({
      signal_id: 'after',
      account_id: 'acme',
      type: 'action',
      action_kind: 'noop',
      params: {},
      published_at: Date.now(),
    });
    const deadline = Date.now() + 5_000;
    while (((await deps.ledger.head('tenants/acme'))?.size ?? 0) < 4 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    await runtime.stop();

    const lines: string[] = [];
    for await (const r of deps.ledger.read('tenants/acme')) lines.push(JSON.stringify(r));
    const ops = lines.map(
      (l) => (JSON.parse((JSON.parse(l) as { body: string }).body) as { operation: string }).operation,
    );
    expect(ops).toEqual(['entitlement_active', 'action_timeout', 'action_rolled_back', 'action_complete']);
    const report = await verifyLines(lines, {
      keyring: new Keyring([CRASH_KEY.publicEntry('2026-01-01T00:00:00.000Z')]),
      threads: 0,
      expectedChain: 'tenants/acme',
    });
    expect(report).toMatchObject({ ok: true, count: 4 });
    expect(await deps.ledger.runningActions('tenants/acme')).toEqual([]);
  });
});

describe('a worker killed with SIGKILL between the write-ahead and the completion commit of a batch', () => {
  const BATCH = 50;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'governor-crash-batch-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it(`gives each of the ${BATCH} signals exactly one outcome receipt after the restart, and the chain verifies`, async () => {
    const child = spawnTs(join(__dirname, 'support', 'crash-batch-child.ts'), {
      DATA_DIR: dir,
      BATCH: String(BATCH),
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const report = await new Promise<{ writeAheads: number[] }>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('\n')) resolve(JSON.parse(out) as { writeAheads: number[] });
      });
      child.on('exit', (code) => reject(new Error(`child exited early (${code}): ${stderr}`)));
    });
    // Admitted in one turn, the batch was written ahead in one commit.
    expect(report.writeAheads).toEqual([BATCH]);
    const exited = new Promise((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');

    const deps = await fileRuntimeDeps(dir, 'worker-b');
    const ids = Array.from({ length: BATCH }, (_, i) => `batch-${i}`);
    expect((await deps.ledger.runningActions('tenants/acme')).map((a) => a.signal_id).sort()).toEqual(
      [...ids].sort(),
    );
    const runtime = await GovernorRuntime.start(deps);
    expect(await runtime.resume()).toEqual({ tenants: 1, reconciled: BATCH });
    // The transport redelivers every one of them (none was acked): nothing runs again.
    for (const signal_id of ids)
      await runtime.submit({
        signal_id,
        account_id: 'acme',
        type: 'action',
        action_kind: 'noop',
        params: {},
        published_at: Date.now(),
      });
    await new Promise((r) => setTimeout(r, 200));
    await runtime.stop();

    const lines: string[] = [];
    for await (const r of deps.ledger.read('tenants/acme')) lines.push(JSON.stringify(r));
    const bodies = lines.map(
      (l) => JSON.parse((JSON.parse(l) as { body: string }).body) as Record<string, unknown>,
    );
    const outcomes = new Map<string, string[]>();
    for (const b of bodies.slice(1)) {
      const id = String(b.action_id);
      outcomes.set(id, [...(outcomes.get(id) ?? []), String(b.operation)]);
    }
    expect(outcomes.size).toBe(BATCH);
    for (const id of ids)
      expect([id, outcomes.get(`${id}-a0`)]).toEqual([id, ['action_timeout', 'action_rolled_back']]);
    const verified = await verifyLines(lines, {
      keyring: new Keyring([CRASH_KEY.publicEntry('2026-01-01T00:00:00.000Z')]),
      threads: 0,
      expectedChain: 'tenants/acme',
    });
    expect(verified).toMatchObject({ ok: true, count: 1 + 2 * BATCH });
    expect(await deps.ledger.runningActions('tenants/acme')).toEqual([]);
  });
});
