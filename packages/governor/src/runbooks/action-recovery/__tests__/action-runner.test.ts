import type { PolicyAction } from '@governor/contracts';
import { Keyring, SigningKey, verifyLines } from '@governor/receipts';
import { SimulatedClock } from 'xstate';
import { ActionError } from '../action-error';
import { ChainWriter } from '../../../chain/chain-writer';
import type { ActionHandler, ActionLogEntry } from '../../../ports';
import { MemoryLedger } from '../../../testing';
import { ActionRunner } from '../action-runner';

const key = SigningKey.fromSeed(Buffer.alloc(32, 2));
const keyring = new Keyring([key.publicEntry('2026-01-01T00:00:00.000Z')]);
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));
const noop: PolicyAction = { handler: 'noop', timeout_ms: 500, recoverable: true };

/** The action log of the runner's chain: every entry, in the order first written. */
const logOf = (ledger: MemoryLedger) => ledger.actionLog('tenants/acme');
const stateOf = (ledger: MemoryLedger, actionId: string) =>
  logOf(ledger).find((e) => e.action_id === actionId)?.state;

/** A runner of `tenants/acme` on `ledger` (a new one by default): its chain and its action log. */
async function setup(handler: ActionHandler, ledger = new MemoryLedger()) {
  const clock = new SimulatedClock();
  clock.set(Date.parse('2026-11-23T10:00:00.000Z'));
  const writer = await ChainWriter.open('tenants/acme', ledger, key, clock);
  const alerts: string[] = [];
  const runner = new ActionRunner({
    account_id: 'acme',
    writer,
    handlers: { noop: handler },
    alerts: { alert: (a) => alerts.push(a.code) },
    clock,
  });
  const run = async (...args: Parameters<ActionRunner['run']>) => {
    const result = await runner.run(...args);
    if (result === 'duplicate') throw new Error('expected the action to run');
    return result;
  };
  const receipts = async () => {
    const lines: string[] = [];
    for await (const r of ledger.read('tenants/acme')) lines.push(JSON.stringify(r));
    expect((await verifyLines(lines, { keyring, threads: 0 })).ok).toBe(true);
    return lines.map((l) => JSON.parse((JSON.parse(l) as { body: string }).body) as Record<string, unknown>);
  };
  return { clock, runner, run, receipts, alerts, ledger };
}

const handler = (
  run: ActionHandler['run'],
  rollback: ActionHandler['rollback'] = () => Promise.resolve(),
): ActionHandler => ({ run, rollback });

describe('ActionRunner (runbook 5)', () => {
  it('a fast action completes with one durable action_complete receipt', async () => {
    const { runner, run, receipts } = await setup(handler(() => Promise.resolve()));
    const result = await run(
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
    const { clock, runner, run, receipts } = await setup(handler(() => new Promise<void>(() => undefined)));
    const pending = run({ signal_id: 's2', action_kind: 'noop', params: {} }, noop);
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
    const { run, receipts, alerts } = await setup(
      handler(() => Promise.reject(new ActionError('HTTP_503', 'endpoint answered 503'))),
    );
    await (
      await run({ signal_id: 's3', action_kind: 'noop', params: {} }, noop)
    ).durable;
    expect((await receipts()).map((r) => [r.operation, r.error_code, r.escalated])).toEqual([
      ['action_failed', 'HTTP_503', false],
      ['action_rolled_back', undefined, undefined],
    ]);
    expect(alerts).toEqual([]);
  });

  it('an unrecoverable error is escalated once: one action_failed and one alert', async () => {
    const { run, receipts, alerts } = await setup(
      handler(() => Promise.reject(new ActionError('BAD', 'no'))),
    );
    const result = await run(
      { signal_id: 's4', action_kind: 'noop', params: {} },
      { ...noop, recoverable: false },
    );
    await result.durable;
    expect(result.outcome).toBe('escalated');
    expect((await receipts()).map((r) => [r.operation, r.escalated])).toEqual([['action_failed', true]]);
    expect(alerts).toEqual(['ACTION_ESCALATED']);
  });

  it('a failed rollback is escalated with its own action_failed receipt', async () => {
    const { run, receipts, alerts } = await setup(
      handler(
        () => Promise.reject(new Error('x')),
        () => Promise.reject(new ActionError('HTTP_500', 'rollback endpoint down')),
      ),
    );
    await (
      await run({ signal_id: 's5', action_kind: 'noop', params: {} }, noop)
    ).durable;
    await flush();
    expect((await receipts()).map((r) => [r.operation, r.error_code, r.escalated])).toEqual([
      ['action_failed', 'ACTION_ERROR', false],
      ['action_failed', 'ROLLBACK_FAILED', true],
    ]);
    expect(alerts).toEqual(['ACTION_ESCALATED']);
  });

  it('a signal whose action is already in the log (redelivered, republished) runs nothing and writes no receipt', async () => {
    let calls = 0;
    const log = new MemoryLedger();
    const { runner, run, receipts } = await setup(
      handler(() => {
        calls += 1;
        return Promise.resolve();
      }),
      log,
    );
    const first = await run({ signal_id: 's6', action_kind: 'noop', params: {} }, noop);
    await first.durable;
    expect(await runner.run({ signal_id: 's6', action_kind: 'noop', params: {} }, noop)).toBe('duplicate');
    // Known from the log too, not only from this runner's memory of what it finished.
    const fresh = (
      await setup(
        handler(() => Promise.resolve()),
        log,
      )
    ).runner;
    expect(await fresh.run({ signal_id: 's6', action_kind: 'noop', params: {} }, noop)).toBe('duplicate');
    // Two deliveries at once: the second is refused while the first is still in flight.
    const [a, b] = await Promise.all([
      runner.run({ signal_id: 's7', action_kind: 'noop', params: {} }, noop),
      runner.run({ signal_id: 's7', action_kind: 'noop', params: {} }, noop),
    ]);
    expect([a, b].filter((r) => r === 'duplicate')).toHaveLength(1);
    await flush();
    expect(calls).toBe(2);
    expect((await receipts()).map((r) => [r.operation, r.signal_id])).toEqual([
      ['action_complete', 's6'],
      ['action_complete', 's7'],
    ]);
    expect(logOf(log).map((e) => [e.action_id, e.state])).toEqual([
      ['s6-a0', 'complete'],
      ['s7-a0', 'complete'],
    ]);
    expect(runner.inFlight).toBe(0);
  });

  it('a start whose log write timed out but landed is not taken for a duplicate when the signal comes back', async () => {
    const log = new MemoryLedger();
    const startActions = log.startActions.bind(log);
    let failOnce = true;
    log.startActions = async (chain, entries) => {
      const started = await startActions(chain, entries);
      if (!failOnce) return started;
      failOnce = false;
      throw new Error('DEADLINE_EXCEEDED');
    };
    const { runner, run, receipts } = await setup(
      handler(() => Promise.resolve()),
      log,
    );
    await expect(runner.run({ signal_id: 's8', action_kind: 'noop', params: {} }, noop)).rejects.toThrow(
      'DEADLINE_EXCEEDED',
    );
    const again = await run({ signal_id: 's8', action_kind: 'noop', params: {} }, noop);
    await again.durable;
    expect((await receipts()).map((r) => [r.operation, r.signal_id])).toEqual([['action_complete', 's8']]);
    expect(stateOf(log, 's8-a0')).toBe('complete');
  });

  it('when the writer refuses a receipt the action does not crash the process: durability fails and the log entry stays running', async () => {
    const { ledger, run } = await setup(handler(() => Promise.resolve()));
    ledger.failNextAppend(new Error('conflict'));
    const first = await run({ signal_id: 's9', action_kind: 'noop', params: {} }, noop);
    await expect(first.durable).rejects.toBeDefined();
    // The writer now refuses every emit; the next action's receipt cannot be written either.
    const second = await run({ signal_id: 's10', action_kind: 'noop', params: {} }, noop);
    await expect(second.durable).rejects.toBeDefined();
    expect(stateOf(ledger, 's9-a0')).toBe('running');
    // Written ahead, then its receipt refused: running, for a restart to reconcile.
    expect(stateOf(ledger, 's10-a0')).toBe('running');
  });

  it('an error whose own code is ORPHANED is still reported once: one action_failed', async () => {
    const { run, receipts, alerts } = await setup(
      handler(() => Promise.reject(new ActionError('ORPHANED', 'the endpoint says so'))),
    );
    const result = await run(
      { signal_id: 's11', action_kind: 'noop', params: {} },
      { ...noop, recoverable: false },
    );
    await result.durable;
    expect((await receipts()).map((r) => [r.operation, r.error_code])).toEqual([
      ['action_failed', 'ORPHANED'],
    ]);
    expect(alerts).toEqual(['ACTION_ESCALATED']);
  });

  it('a rollback error longer than a receipt field takes is cut to 2,000 characters, not lost', async () => {
    const { run, receipts } = await setup(
      handler(
        () => Promise.reject(new Error('x')),
        () => Promise.reject(new Error('r'.repeat(5_000))),
      ),
    );
    const result = await run({ signal_id: 's12', action_kind: 'noop', params: {} }, noop);
    await result.durable;
    const failed = (await receipts()).find((r) => r.error_code === 'ROLLBACK_FAILED');
    expect(failed?.error_message).toBe('r'.repeat(2_000));
  });

  describe('reconcile (an action a previous owner left running)', () => {
    const orphan: ActionLogEntry = {
      action_id: 'old-a0',
      kind: 'noop',
      signal_id: 'old',
      state: 'running',
      recoverable: true,
      deadline_at: Date.parse('2026-11-23T09:59:00.000Z'),
    };

    it('runs the action machine from its timed-out path: action_timeout, then the rollback', async () => {
      const rolledBack: string[] = [];
      const { runner, receipts, ledger } = await setup(
        handler(
          () => Promise.reject(new Error('never run')),
          (request) => Promise.resolve(void rolledBack.push(request.action_id)),
        ),
      );
      await ledger.putActions('tenants/acme', [orphan]);
      expect(await runner.reconcile(orphan, noop, 'c-9')).toBe('rolled_back');
      const [timeout, rollback] = await receipts();
      expect(timeout).toMatchObject({
        operation: 'action_timeout',
        action_id: 'old-a0',
        correlation_id: 'c-9',
      });
      expect(rollback).toMatchObject({
        operation: 'action_rolled_back',
        previous_action_receipt_id: timeout?.receipt_id,
      });
      expect(rolledBack).toEqual(['old-a0']);
      expect(stateOf(ledger, 'old-a0')).toBe('rolled_back');
    });

    it('on a chain that takes no receipts it calls no rollback and leaves the entry running', async () => {
      let rolledBack = false;
      const { runner, ledger, run } = await setup(
        handler(
          () => Promise.resolve(),
          () => Promise.resolve(void (rolledBack = true)),
        ),
      );
      ledger.failNextAppend(new Error('conflict'));
      await expect(
        (await run({ signal_id: 's13', action_kind: 'noop', params: {} }, noop)).durable,
      ).rejects.toBeDefined();
      await ledger.putActions('tenants/acme', [orphan]);
      await expect(runner.reconcile(orphan, noop)).rejects.toThrow(/takes no receipts/);
      expect(rolledBack).toBe(false);
      expect(stateOf(ledger, 'old-a0')).toBe('running');
    });
  });
});
