import { assign, fromPromise, setup } from 'xstate';

/** What one action run needs to know, fixed when it is created. */
export interface ActionInput {
  readonly action_id: string;
  readonly account_id: string;
  readonly kind: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly timeout_ms: number;
  readonly recoverable: boolean;
}

export interface ActionFailure {
  readonly code: string;
  readonly message: string;
}

export interface ActionContext extends ActionInput {
  readonly error: ActionFailure | null;
  /** Receipt of the failure (timeout or error) that a rollback refers back to. */
  readonly failure_receipt_id: string | null;
  readonly rollback_started_at: number | null;
  readonly outcome: ActionOutcome | null;
}

export type ActionOutcome = 'complete' | 'rolled_back' | 'escalated';

function toFailure(error: unknown, fallback: string): ActionFailure {
  const e = error as { code?: unknown; message?: unknown };
  return {
    code: typeof e?.code === 'string' ? e.code : fallback,
    message: typeof e?.message === 'string' && e.message !== '' ? e.message : String(error),
  };
}

/**
 * One action's life: pending → running → complete | timed_out | errored → rolling_back →
 * rolled_back | failed → escalated. Pure: the handler calls (`execute`, `rollback`), the
 * receipts (`emit*`) and the escalation are provided by the runtime with `.provide()`, and
 * time comes from the actor's clock, so tests run it on a SimulatedClock.
 */
export const actionMachine = setup({
  types: {
    context: {} as ActionContext,
    input: {} as ActionInput,
    events: {} as { type: 'START' },
    output: {} as { outcome: ActionOutcome; error: ActionFailure | null },
  },
  actors: {
    execute: fromPromise<void, ActionInput>(() =>
      Promise.reject(new Error('execute is provided by the runtime')),
    ),
    rollback: fromPromise<void, ActionInput>(() =>
      Promise.reject(new Error('rollback is provided by the runtime')),
    ),
  },
  actions: {
    // Each emits its receipt; the runtime provides them (with assign, to record receipt ids).
    emitComplete: () => undefined,
    emitTimeout: () => undefined,
    emitFailed: () => undefined,
    emitRolledBack: () => undefined,
    escalate: () => undefined,
    markRollbackStart: () => undefined,
  },
  guards: {
    recoverable: ({ context }) => context.recoverable,
  },
  delays: {
    actionTimeout: ({ context }) => context.timeout_ms,
  },
}).createMachine({
  id: 'action',
  initial: 'pending',
  context: ({ input }) => ({
    ...input,
    error: null,
    failure_receipt_id: null,
    rollback_started_at: null,
    outcome: null,
  }),
  states: {
    pending: { on: { START: 'running' } },
    running: {
      invoke: {
        src: 'execute',
        input: ({ context }) => context,
        onDone: 'complete',
        onError: {
          target: 'errored',
          actions: assign({ error: ({ event }) => toFailure(event.error, 'ACTION_ERROR') }),
        },
      },
      // Leaving `running` stops the invoked handler and aborts its signal.
      after: {
        actionTimeout: {
          target: 'timed_out',
          actions: assign({
            error: ({ context }) => ({
              code: 'TIMEOUT',
              message: `no answer within ${context.timeout_ms} ms`,
            }),
          }),
        },
      },
    },
    complete: { type: 'final', entry: ['emitComplete', assign({ outcome: 'complete' as const })] },
    timed_out: {
      entry: 'emitTimeout',
      always: [{ guard: 'recoverable', target: 'rolling_back' }, { target: 'failed' }],
    },
    errored: {
      entry: 'emitFailed',
      always: [{ guard: 'recoverable', target: 'rolling_back' }, { target: 'failed' }],
    },
    rolling_back: {
      entry: 'markRollbackStart',
      invoke: {
        src: 'rollback',
        input: ({ context }) => context,
        onDone: 'rolled_back',
        onError: {
          target: 'failed',
          // Always ROLLBACK_FAILED, whatever the handler's own code: escalation keys on it.
          actions: assign({
            error: ({ event }) => ({
              code: 'ROLLBACK_FAILED',
              message: toFailure(event.error, 'ROLLBACK_FAILED').message,
            }),
          }),
        },
      },
    },
    rolled_back: { type: 'final', entry: ['emitRolledBack', assign({ outcome: 'rolled_back' as const })] },
    failed: { entry: 'escalate', always: 'escalated' },
    escalated: { type: 'final', entry: assign({ outcome: 'escalated' as const }) },
  },
  output: ({ context }) => ({ outcome: context.outcome ?? 'escalated', error: context.error }),
});
