import type { PolicyAction } from '@governor/contracts';
import { Keyring, SigningKey, verifyLines } from '@governor/receipts';
import { SimulatedClock } from 'xstate';
import { ActionRunner } from '../action-runner';
import { ChainWriter } from '../chain-writer';
import { ActionError, type ActionHandler } from '../ports';
import { FakeLedger } from './fake-ledger';

const key = SigningKey.fromSeed(Buffer.alloc(32, 2));
const keyring = new Keyring([key.publicEntry('2026-01-01T00:00:00.000Z')]);
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));
const noop: PolicyAction = { handler: 'noop', timeout_ms: 500, recoverable: true };

async function setup(handler: ActionHandler) {
  const clock = new SimulatedClock();
  clock.set(Date.parse('2026-11-23T10:00:00.000Z'));
  const ledger = new FakeLedger();
  const writer = await ChainWriter.open('tenants/acme', ledger, key, clock);
  const alerts: string[] = [];
  const runner = new ActionRunner({
    account_id: 'acme',
    writer,
    handlers: { noop: handler },
    alerts: { alert: (a) => alerts.push(a.code) },
    clock,
  });
  const receipts = async () => {
    const lines: string[] = [];
    for await (const r of ledger.read('tenants/acme')) lines.push(JSON.stringify(r));
    expect((await verifyLines(lines, { keyring, threads: 0 })).ok).toBe(true);
    return lines.map((l) => JSON.parse((JSON.parse(l) as { body: string }).body) as Record<string, unknown>);
  };
  return { clock, runner, receipts, alerts };
}

const handler = (
  run: ActionHandler['run'],
  rollback: ActionHandler['rollback'] = () => Promise.resolve(),
): ActionHandler => ({ run, rollback });

describe('ActionRunner (runbook 5)', () => {
  it('a fast action completes with one durable action_complete receipt', async () => {
    const { runner, receipts } = await setup(handler(() => Promise.resolve()));
    const result = await runner.run(
      { signal_id: 's1', action_kind: 'noop', params: {}, correlation_id: 'c-1' },
      noop,
    );
    await result.durable;
    expect(result.outcome).toBe('complete');
    expect(await receipts()).toEqual([
      expect.objectContaining({
        operation: 'action_complete',
        signal_id: 's1',
        action_kind: 'noop',
        correlation_id: 'c-1',
        account_id: 'acme',
      }),
    ]);
    expect(runner.inFlight).toBe(0);
  });

  it('a slow action times out at 500 ms, is rolled back, and the rollback receipt points at the timeout receipt', async () => {
    const { clock, runner, receipts } = await setup(handler(() => new Promise<void>(() => undefined)));
    const pending = runner.run({ signal_id: 's2', action_kind: 'noop', params: {} }, noop);
    expect(runner.inFlight).toBe(1);
    await flush();
    expect(runner.inFlightKinds()).toEqual(['noop']);
    clock.increment(500);
    const result = await pending;
    await result.durable;
    const [timeout, rolledBack] = await receipts();
    expect(timeout).toMatchObject({ operation: 'action_timeout', timeout_ms: 500, duration_ms: 500 });
    expect(rolledBack).toMatchObject({
      operation: 'action_rolled_back',
      previous_action_receipt_id: timeout?.receipt_id,
    });
    expect(result.outcome).toBe('rolled_back');
  });

  it('a recoverable error writes action_failed (not escalated) then action_rolled_back', async () => {
    const { runner, receipts, alerts } = await setup(
      handler(() => Promise.reject(new ActionError('HTTP_503', 'endpoint answered 503'))),
    );
    await (
      await runner.run({ signal_id: 's3', action_kind: 'noop', params: {} }, noop)
    ).durable;
    expect((await receipts()).map((r) => [r.operation, r.error_code, r.escalated])).toEqual([
      ['action_failed', 'HTTP_503', false],
      ['action_rolled_back', undefined, undefined],
    ]);
    expect(alerts).toEqual([]);
  });

  it('an unrecoverable error is escalated once: one action_failed and one alert', async () => {
    const { runner, receipts, alerts } = await setup(
      handler(() => Promise.reject(new ActionError('BAD', 'no'))),
    );
    const result = await runner.run(
      { signal_id: 's4', action_kind: 'noop', params: {} },
      { ...noop, recoverable: false },
    );
    await result.durable;
    expect(result.outcome).toBe('escalated');
    expect((await receipts()).map((r) => [r.operation, r.escalated])).toEqual([['action_failed', true]]);
    expect(alerts).toEqual(['ACTION_ESCALATED']);
  });

  it('a failed rollback is escalated with its own action_failed receipt', async () => {
    const { runner, receipts, alerts } = await setup(
      handler(
        () => Promise.reject(new Error('x')),
        () => Promise.reject(new ActionError('HTTP_500', 'rollback endpoint down')),
      ),
    );
    await (
      await runner.run({ signal_id: 's5', action_kind: 'noop', params: {} }, noop)
    ).durable;
    await flush();
    expect((await receipts()).map((r) => [r.operation, r.error_code, r.escalated])).toEqual([
      ['action_failed', 'ACTION_ERROR', false],
      ['action_failed', 'ROLLBACK_FAILED', true],
    ]);
    expect(alerts).toEqual(['ACTION_ESCALATED']);
  });
});
