import { createActor, fromPromise, SimulatedClock } from 'xstate';
import { actionMachine, type ActionInput } from '../machines/action.machine';

const input: ActionInput = {
  action_id: 'a-1',
  account_id: 'acme',
  kind: 'webhook',
  params: {},
  timeout_ms: 500,
  recoverable: true,
};
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Runs the machine on simulated time with a scripted handler; records what it emitted. */
function run(options: {
  execute: (signal: AbortSignal) => Promise<void>;
  rollback?: () => Promise<void>;
  input?: Partial<ActionInput>;
}) {
  const clock = new SimulatedClock();
  const emitted: string[] = [];
  const aborted: boolean[] = [];
  const machine = actionMachine.provide({
    actors: {
      execute: fromPromise(({ signal }) => {
        signal.addEventListener('abort', () => aborted.push(true));
        return options.execute(signal);
      }),
      rollback: fromPromise(() => (options.rollback ?? (() => Promise.resolve()))()),
    },
    actions: {
      emitComplete: () => emitted.push('action_complete'),
      emitTimeout: () => emitted.push('action_timeout'),
      emitFailed: () => emitted.push('action_failed'),
      emitRolledBack: () => emitted.push('action_rolled_back'),
      escalate: () => emitted.push('escalate'),
    },
  });
  const actor = createActor(machine, { input: { ...input, ...options.input }, clock });
  actor.start();
  actor.send({ type: 'START' });
  return { actor, clock, emitted, aborted };
}

const never = () => new Promise<void>(() => undefined);

describe('action machine', () => {
  it('completes when the handler answers in time', async () => {
    const { actor, emitted } = run({ execute: () => Promise.resolve() });
    await flush();
    expect(actor.getSnapshot().status).toBe('done');
    expect(actor.getSnapshot().output).toEqual({ outcome: 'complete', error: null });
    expect(emitted).toEqual(['action_complete']);
  });

  it('times out at exactly timeout_ms of simulated time, aborts the handler, and rolls back', async () => {
    const { actor, clock, emitted, aborted } = run({ execute: never });
    clock.increment(499);
    await flush();
    expect(actor.getSnapshot().value).toBe('running');
    clock.increment(1);
    await flush();
    expect(emitted).toEqual(['action_timeout', 'action_rolled_back']);
    expect(aborted).toEqual([true]);
    expect(actor.getSnapshot().output).toEqual({
      outcome: 'rolled_back',
      error: { code: 'TIMEOUT', message: 'no answer within 500 ms' },
    });
  });

  it("honours the policy's own timeout", async () => {
    const { actor, clock } = run({ execute: never, input: { timeout_ms: 1200 } });
    clock.increment(1199);
    await flush();
    expect(actor.getSnapshot().value).toBe('running');
    clock.increment(1);
    await flush();
    expect(actor.getSnapshot().output?.outcome).toBe('rolled_back');
  });

  it('rolls back a recoverable error after action_failed', async () => {
    const { actor, emitted } = run({
      execute: () => Promise.reject(Object.assign(new Error('endpoint answered 503'), { code: 'HTTP_503' })),
    });
    await flush();
    expect(emitted).toEqual(['action_failed', 'action_rolled_back']);
    expect(actor.getSnapshot().output).toEqual({
      outcome: 'rolled_back',
      error: { code: 'HTTP_503', message: 'endpoint answered 503' },
    });
  });

  it('escalates an unrecoverable error without rollback', async () => {
    let rolledBack = false;
    const { actor, emitted } = run({
      execute: () => Promise.reject(new Error('boom')),
      rollback: () => {
        rolledBack = true;
        return Promise.resolve();
      },
      input: { recoverable: false },
    });
    await flush();
    expect(emitted).toEqual(['action_failed', 'escalate']);
    expect(rolledBack).toBe(false);
    expect(actor.getSnapshot().output).toEqual({
      outcome: 'escalated',
      error: { code: 'ACTION_ERROR', message: 'boom' },
    });
  });

  it('escalates an unrecoverable timeout', async () => {
    const { actor, clock, emitted } = run({ execute: never, input: { recoverable: false } });
    clock.increment(500);
    await flush();
    expect(emitted).toEqual(['action_timeout', 'escalate']);
    expect(actor.getSnapshot().output?.outcome).toBe('escalated');
  });

  it('escalates when the rollback itself fails', async () => {
    const { actor, emitted } = run({
      execute: () => Promise.reject(new Error('x')),
      rollback: () => Promise.reject(new Error('rollback refused')),
    });
    await flush();
    await flush();
    expect(emitted).toEqual(['action_failed', 'escalate']);
    expect(actor.getSnapshot().output).toEqual({
      outcome: 'escalated',
      error: { code: 'ROLLBACK_FAILED', message: 'rollback refused' },
    });
  });

  it('a late answer after the timeout changes nothing', async () => {
    let answer: () => void = () => undefined;
    const { actor, clock, emitted } = run({
      execute: () => new Promise<void>((resolve) => (answer = resolve)),
    });
    clock.increment(500);
    await flush();
    answer();
    await flush();
    expect(emitted).toEqual(['action_timeout', 'action_rolled_back']);
    expect(actor.getSnapshot().output?.outcome).toBe('rolled_back');
  });
});
