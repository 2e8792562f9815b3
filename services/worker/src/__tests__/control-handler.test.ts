import { Writable } from 'node:stream';
import { DirectoryPolicyRegistry, LogAlertSink, REPO_POLICIES } from '@governor/adapters-local';
import {
  GovernorRuntime,
  noopHandler,
  systemClock,
  type ControlMessage,
  type EntitlementEvent,
} from '@governor/governor';
import {
  MemoryArchive,
  MemoryBus,
  MemoryDirectory,
  MemoryLedger,
  MemoryRegistry,
  MemorySpool,
} from '@governor/governor/testing';
import { SigningKey } from '@governor/receipts';
import pino from 'pino';
import { applyControl } from '../control-handler';

async function setup() {
  const signer = SigningKey.fromSeed(Buffer.alloc(32, 9));
  const ledger = new MemoryLedger();
  const registry = new MemoryRegistry();
  const repo = new DirectoryPolicyRegistry(REPO_POLICIES, { readOnly: true });
  for (const plan of ['starter', 'professional', 'enterprise'])
    await registry.put(plan, '1.0.0', await repo.get(plan, '1.0.0'));
  const runtime = await GovernorRuntime.start({
    workerId: 'worker-1',
    ledger,
    directory: new MemoryDirectory(),
    bus: new MemoryBus(),
    archive: new MemoryArchive(),
    registry,
    handlers: { noop: noopHandler, http: noopHandler },
    alerts: new LogAlertSink(() => undefined),
    clock: systemClock,
    signer,
    keys: [signer.publicEntry('2026-01-01T00:00:00.000Z')],
    spool: new MemorySpool(),
  });
  const lines: Record<string, unknown>[] = [];
  const log = pino(
    { base: null, timestamp: false },
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    }),
  );
  const receipts = async (chain: string) => {
    const out: Record<string, unknown>[] = [];
    for await (const r of ledger.read(chain)) out.push(JSON.parse(r.body) as Record<string, unknown>);
    return out;
  };
  const event = (
    type: EntitlementEvent['type'],
    account_id: string,
    plan_type = 'professional',
    fields: Partial<EntitlementEvent> = {},
  ): EntitlementEvent => ({
    type,
    entitlement_id: `ent-${account_id}`,
    account_id,
    sku_id: `governor-${plan_type}`,
    plan_type,
    region: 'us-central1',
    occurred_at: '2026-11-23T10:00:00.000Z',
    ...fields,
  });
  const entitlement = (e: EntitlementEvent, correlation_id?: string): ControlMessage => ({
    kind: 'entitlement',
    event: e,
    ...(correlation_id ? { correlation_id } : {}),
  });
  /** Log lines written (pino writes asynchronously to a stream). */
  const logged = async () => {
    await new Promise<void>((resolve) => setImmediate(resolve));
    return lines;
  };
  return { runtime, registry, log, receipts, event, entitlement, logged };
}

describe('applyControl', () => {
  it('entitlement.plan_changed moves the tenant to the plan, acks, and logs the outcome with the correlation id', async () => {
    const s = await setup();
    expect(
      await applyControl(s.runtime, s.entitlement(s.event('entitlement.created', 'acme'), 'c-1'), s.log),
    ).toBe('ack');
    const changed = s.entitlement(s.event('entitlement.plan_changed', 'acme', 'enterprise'), 'c-2');
    expect(await applyControl(s.runtime, changed, s.log)).toBe('ack');
    expect(s.runtime.get('acme')?.record.plan_type).toBe('enterprise');
    expect((await s.receipts('tenants/acme')).map((r) => [r.operation, r.correlation_id])).toEqual([
      ['entitlement_active', 'c-1'],
      ['plan_changed', 'c-2'],
    ]);
    // Redelivered: acked again, nothing changes.
    expect(await applyControl(s.runtime, changed, s.log)).toBe('ack');
    expect(await s.receipts('tenants/acme')).toHaveLength(2);
    expect((await s.logged()).map((l) => [l.msg, l.correlation_id, l.operation ?? null])).toEqual([
      ['tenant provisioned', 'c-1', null],
      ['plan changed', 'c-2', 'plan_changed'],
      ['plan unchanged (already on the plan)', 'c-2', 'unchanged'],
    ]);
    expect((await s.logged())[1]).toMatchObject({
      account_id: 'acme',
      entitlement_id: 'ent-acme',
      plan_type: 'enterprise',
      requested_plan: 'enterprise',
      policy_version: '1.0.0',
    });
    await s.runtime.stop();
  });

  it('a refused plan change is acked and logged as a warning with its reasons', async () => {
    const s = await setup();
    await applyControl(s.runtime, s.entitlement(s.event('entitlement.created', 'acme')), s.log);
    const refused = s.entitlement(s.event('entitlement.plan_changed', 'acme', 'platinum'), 'c-3');
    expect(await applyControl(s.runtime, refused, s.log)).toBe('ack');
    expect((await s.receipts('tenants/acme')).at(-1)).toMatchObject({
      operation: 'plan_change_refused',
      correlation_id: 'c-3',
      previous_plan: 'professional',
      plan_type: 'platinum',
      reasons: [expect.stringMatching(/^plan platinum has no policy/)],
    });
    expect((await s.logged()).at(-1)).toMatchObject({
      level: 40,
      msg: 'plan change refused',
      correlation_id: 'c-3',
      plan_type: 'professional',
      requested_plan: 'platinum',
      reasons: [expect.stringMatching(/^plan platinum has no policy/)],
    });
    await s.runtime.stop();
  });

  it('a plan change for a tenant this worker does not run is acked with a warning', async () => {
    const s = await setup();
    const message = s.entitlement(s.event('entitlement.plan_changed', 'globex', 'enterprise'));
    expect(await applyControl(s.runtime, message, s.log)).toBe('ack');
    expect((await s.logged()).at(-1)).toMatchObject({ level: 40, account_id: 'globex' });
  });

  it('a plan change the runtime cannot take now rejects, so the worker nacks it', async () => {
    const s = await setup();
    await applyControl(s.runtime, s.entitlement(s.event('entitlement.created', 'acme')), s.log);
    s.registry.latest = () =>
      Promise.reject(Object.assign(new Error('storage unavailable'), { retryable: true }));
    await expect(
      applyControl(
        s.runtime,
        s.entitlement(s.event('entitlement.plan_changed', 'acme', 'enterprise')),
        s.log,
      ),
    ).rejects.toThrow('storage unavailable');
    expect(await s.receipts('tenants/acme')).toHaveLength(1);
    await s.runtime.stop();
  });

  it('passes the correlation id of cancel and policy messages into their receipts', async () => {
    const s = await setup();
    await applyControl(s.runtime, s.entitlement(s.event('entitlement.created', 'acme')), s.log);
    const policy = { ...((await s.registry.latest('professional')) as object), policy_version: '1.1.0' };
    expect(
      await applyControl(
        s.runtime,
        { kind: 'policy', policy, force: false, correlation_id: 'c-policy' },
        s.log,
      ),
    ).toBe('ack');
    const cancel = s.event('entitlement.cancelled', 'acme', 'professional', {
      cancellation_reason: 'customer_request',
    });
    expect(await applyControl(s.runtime, s.entitlement(cancel, 'c-cancel'), s.log)).toBe('ack');
    await s.runtime.stop();
    expect((await s.receipts('tenants/acme')).map((r) => [r.operation, r.correlation_id])).toEqual([
      ['entitlement_active', undefined],
      ['policy_upgraded', 'c-policy'],
      ['decommission_start', 'c-cancel'],
      ['decommission_complete', 'c-cancel'],
    ]);
  });

  it("a cancel naming another entitlement than the tenant's is acked with a warning and cancels nothing", async () => {
    const s = await setup();
    await applyControl(s.runtime, s.entitlement(s.event('entitlement.created', 'acme')), s.log);
    const cancel = s.event('entitlement.cancelled', 'acme', 'professional', { entitlement_id: 'ent-other' });
    expect(await applyControl(s.runtime, s.entitlement(cancel), s.log)).toBe('ack');
    expect((await s.logged()).at(-1)).toMatchObject({
      level: 40,
      entitlement_id: 'ent-other',
      tenant_entitlement_id: 'ent-acme',
      msg: expect.stringContaining('another entitlement') as unknown,
    });
    expect(s.runtime.get('acme')?.phase).toBe('normal');
    await s.runtime.stop();
    expect((await s.receipts('tenants/acme')).map((r) => r.operation)).toEqual(['entitlement_active']);
  });

  it('a create for an account that runs another entitlement is acked with a warning, and provisions nothing', async () => {
    const s = await setup();
    await applyControl(s.runtime, s.entitlement(s.event('entitlement.created', 'acme')), s.log);
    const other = s.event('entitlement.created', 'acme', 'professional', { entitlement_id: 'ent-other' });
    expect(await applyControl(s.runtime, s.entitlement(other), s.log)).toBe('ack');
    expect((await s.logged()).at(-1)).toMatchObject({ level: 40, entitlement_id: 'ent-other' });
    await s.runtime.stop();
    expect((await s.receipts('tenants/acme')).map((r) => r.operation)).toEqual(['entitlement_active']);
  });
});
