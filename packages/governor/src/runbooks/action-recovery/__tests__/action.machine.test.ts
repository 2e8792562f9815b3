import { createActor, SimulatedClock } from 'xstate';
import { actionMachine, type ActionEmitted, type ActionInput } from '../action.machine';

const input: Omit<ActionInput, 'execute' | 'rollback'> = {
  action_id: 'a-1',
  account_id: 'acme',
  kind: 'webhook',
  params: {},
  timeout_ms: 500,
  recoverable: true,
};
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The receipt (or escalation) each announcement stands for, as the runner writes them. */
function said(event: ActionEmitted): string[] {
  switch (event.type) {
    case 'completed':
      return ['action_complete'];
    case 'timed_out':
      return ['action_timeout'];
    case 'errored':
      return ['action_failed'];
    case 'rolled_back':
      return ['action_rolled_back'];
    case 'escalated':
      return ['escalate'];
    case 'rollback_started':
      return [];
  }
}

/** Runs the machine on simulated time with a scripted handler; records what it announced. */
function run(options: {
  execute: (signal: AbortSignal) => Promise<void>;
  rollback?: () => Promise<void>;
  input?: Partial<ActionInput>;
}) {
  const clock = new SimulatedClock();
  const emitted: string[] = [];
  const events: ActionEmitted[] = [];
  const aborted: boolean[] = [];
  const actor = createActor(actionMachine, {
    input: {
      ...input,
      execute: (signal) => {
        signal.addEventListener('abort', () => aborted.push(true));
        return options.execute(signal);
      },
      rollback: () => (options.rollback ?? (() => Promise.resolve()))(),
      ...options.input,
    },
    clock,
  });
  actor.on('*', (event) => {
    events.push(event);
    emitted.push(...said(event));
  });
  actor.start();
  actor.send({ type: 'START' });
  return { actor, clock, emitted, events, aborted };
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

  it('announces a rollback start before the rollback, so its duration can be measured', async () => {
    const { events } = run({ execute: () => Promise.reject(new Error('x')) });
    await flush();
    expect(events.map((e) => e.type)).toEqual(['errored', 'rollback_started', 'rolled_back']);
    expect(events[0]).toEqual({
      type: 'errored',
      error: { code: 'ACTION_ERROR', message: 'x' },
      escalated: false,
    });
  });

  it('an escalation after an unrecoverable error says it was reported; after a timeout, that it was not', async () => {
    const errored = run({ execute: () => Promise.reject(new Error('boom')), input: { recoverable: false } });
    await flush();
    expect(errored.events.at(-1)).toMatchObject({ type: 'escalated', reported: true });
    const timedOut = run({ execute: never, input: { recoverable: false } });
    timedOut.clock.increment(500);
    await flush();
    expect(timedOut.events.at(-1)).toMatchObject({
      type: 'escalated',
      reported: false,
      error: { code: 'TIMEOUT' },
    });
  });

  describe('an orphan (left running by a previous owner)', () => {
    it('starts in its timed-out path and rolls back, without running the action', async () => {
      let ran = false;
      const { actor, emitted } = run({
        execute: () => {
          ran = true;
          return Promise.resolve();
        },
        input: { orphaned: { rollback: true } },
      });
      await flush();
      expect(ran).toBe(false);
      expect(emitted).toEqual(['action_timeout', 'action_rolled_back']);
      expect(actor.getSnapshot().output?.outcome).toBe('rolled_back');
    });

    it('escalates as ORPHANED when it cannot be rolled back (no handler, or not recoverable)', async () => {
      for (const orphan of [
        { orphaned: { rollback: false } },
        { orphaned: { rollback: true }, recoverable: false },
      ]) {
        const { actor, events } = run({ execute: never, input: orphan });
        await flush();
        expect(events.map((e) => e.type)).toEqual(['timed_out', 'escalated']);
        expect(events.at(-1)).toEqual({
          type: 'escalated',
          reported: false,
          error: { code: 'ORPHANED', message: 'the action was running when its worker stopped' },
        });
        expect(actor.getSnapshot().output?.outcome).toBe('escalated');
      }
    });
  });
});
