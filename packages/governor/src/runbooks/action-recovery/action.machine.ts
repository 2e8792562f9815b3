import { assign, emit, fromPromise, setup } from 'xstate';

/** What one action run needs to know, fixed when it is created. */
export interface ActionInput {
  readonly action_id: string;
  readonly account_id: string;
  readonly kind: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly timeout_ms: number;
  readonly recoverable: boolean;
  /** Runs the action; the signal aborts when the machine stops waiting for it (a timeout). */
  readonly execute: (signal: AbortSignal) => Promise<void>;
  /** Undoes the action (bounded by its caller); the signal aborts when the machine stops waiting. */
  readonly rollback: (signal: AbortSignal) => Promise<void>;
  /**
   * Set when a previous owner left the action running (the log says so and nothing runs it
   * any more): it starts in its timed-out path, and is rolled back only if `rollback` can be.
   */
  readonly orphaned?: { readonly rollback: boolean };
}

export interface ActionFailure {
  readonly code: string;
  readonly message: string;
}

export interface ActionContext extends ActionInput {
  readonly error: ActionFailure | null;
  /** Whether an `errored` event has reported `error` (then the escalation does not again). */
  readonly reported: boolean;
  readonly outcome: ActionOutcome | null;
}

export type ActionOutcome = 'complete' | 'rolled_back' | 'escalated';

/**
 * What the machine announces as it goes (`actor.on(type, …)`): the code around it writes the
 * receipt of each, so the machine itself stays pure.
 */
export type ActionEmitted =
  | { readonly type: 'completed' }
  | { readonly type: 'timed_out' }
  /** The handler failed; `escalated` when the action cannot be rolled back. */
  | { readonly type: 'errored'; readonly error: ActionFailure; readonly escalated: boolean }
  | { readonly type: 'rollback_started' }
  | { readonly type: 'rolled_back' }
  /**
   * Needs a person. `reported` when an `errored` event already said so (an unrecoverable
   * error); a timeout, an orphan or a failed rollback has not been reported yet.
   */
  | { readonly type: 'escalated'; readonly error: ActionFailure | null; readonly reported: boolean };

function toFailure(error: unknown, fallback: string): ActionFailure {
  const e = error as { code?: unknown; message?: unknown };
  return {
    code: typeof e?.code === 'string' ? e.code : fallback,
    message: typeof e?.message === 'string' && e.message !== '' ? e.message : String(error),
  };
}

/**
 * One action's life: pending → running → complete | timed_out | errored → rolling_back →
 * rolled_back | failed → escalated. An orphaned action (see `ActionInput.orphaned`) goes from
 * pending straight to timed_out. Pure: the calls come in with the input, what happened goes
 * out as emitted events, and time comes from the actor's clock, so tests run it on a
 * SimulatedClock.
 */
export const actionMachine = setup({
  types: {
    context: {} as ActionContext,
    input: {} as ActionInput,
    events: {} as { type: 'START' },
    emitted: {} as ActionEmitted,
    output: {} as { outcome: ActionOutcome; error: ActionFailure | null },
  },
  actors: {
    execute: fromPromise<void, ActionInput>(({ input, signal }) => input.execute(signal)),
    rollback: fromPromise<void, ActionInput>(({ input, signal }) => input.rollback(signal)),
  },
  guards: {
    orphaned: ({ context }) => context.orphaned !== undefined,
    canRollBack: ({ context }) => context.recoverable && (context.orphaned?.rollback ?? true),
  },
  delays: {
    actionTimeout: ({ context }) => context.timeout_ms,
  },
}).createMachine({
  id: 'action',
  initial: 'pending',
  context: ({ input }) => ({ ...input, error: null, reported: false, outcome: null }),
  states: {
    pending: {
      on: {
        START: [
          {
            guard: 'orphaned',
            target: 'timed_out',
            actions: assign({
              error: { code: 'ORPHANED', message: 'the action was running when its worker stopped' },
            }),
          },
          { target: 'running' },
        ],
      },
    },
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
    complete: {
      type: 'final',
      entry: [emit({ type: 'completed' }), assign({ outcome: 'complete' as const })],
    },
    timed_out: {
      entry: emit({ type: 'timed_out' }),
      always: [{ guard: 'canRollBack', target: 'rolling_back' }, { target: 'failed' }],
    },
    errored: {
      entry: [
        emit(({ context }) => ({
          type: 'errored' as const,
          error: context.error ?? { code: 'ACTION_ERROR', message: 'failed' },
          escalated: !context.recoverable,
        })),
        assign({ reported: true }),
      ],
      always: [{ guard: 'canRollBack', target: 'rolling_back' }, { target: 'failed' }],
    },
    rolling_back: {
      entry: emit({ type: 'rollback_started' }),
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
            reported: false,
          }),
        },
      },
    },
    rolled_back: {
      type: 'final',
      entry: [emit({ type: 'rolled_back' }), assign({ outcome: 'rolled_back' as const })],
    },
    failed: {
      entry: emit(({ context }) => ({
        type: 'escalated' as const,
        error: context.error,
        reported: context.reported,
      })),
      always: 'escalated',
    },
    escalated: { type: 'final', entry: assign({ outcome: 'escalated' as const }) },
  },
  output: ({ context }) => ({ outcome: context.outcome ?? 'escalated', error: context.error }),
});
