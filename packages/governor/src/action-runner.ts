import type { PolicyAction } from '@governor/contracts';
import { assign, createActor, fromPromise, type Actor } from 'xstate';
import type { ChainWriter } from './chain-writer';
import {
  actionMachine,
  type ActionContext,
  type ActionInput,
  type ActionOutcome,
} from './machines/action.machine';
import {
  ActionError,
  type ActionHandler,
  type ActionLogEntry,
  type AlertSink,
  type Clock,
  type TenantDirectory,
} from './ports';

/** A signal asking the governor to run one action. */
export interface ActionSignal {
  readonly signal_id: string;
  readonly action_kind: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly correlation_id?: string;
}

export interface ActionResult {
  readonly action_id: string;
  readonly outcome: ActionOutcome;
  /** Resolves when every receipt of the action is durable. */
  readonly durable: Promise<void>;
  /** Not run here: a previous owner left it running, and it was reconciled as a timeout. */
  readonly reconciled?: true;
}

export interface ActionRunnerDeps {
  readonly account_id: string;
  readonly writer: ChainWriter;
  readonly handlers: Readonly<Record<string, ActionHandler>>;
  readonly alerts: AlertSink;
  readonly clock: Clock;
  /**
   * The durable action log. XState does not restore timers from a snapshot, so the deadline is
   * written down before the action starts, and a restart reconciles what was left running.
   */
  readonly directory?: TenantDirectory;
}

interface Running {
  readonly deps: ActionRunnerDeps;
  readonly actor: Actor<typeof actionMachine>;
  readonly kind: string;
  readonly signal: ActionSignal;
  readonly action: PolicyAction;
  readonly started: number;
  readonly durables: Promise<void>[];
}

/** What is wrong with an action log entry that reconcile cannot read; null when nothing. */
function malformedEntry(entry: ActionLogEntry): string | null {
  const problems: string[] = [];
  if (typeof entry.kind !== 'string' || entry.kind.length === 0) problems.push('kind');
  if (typeof entry.deadline_at !== 'number' || !Number.isFinite(entry.deadline_at))
    problems.push('deadline_at');
  if (typeof entry.recoverable !== 'boolean') problems.push('recoverable');
  return problems.length > 0 ? `${problems.join(', ')} missing or not valid` : null;
}

/**
 * Runs an outbound call (a rollback) for at most `ms` of the injected clock: past that its
 * signal is aborted and it fails with ROLLBACK_TIMEOUT, so an endpoint that never answers
 * cannot hold a rollback, a reconcile or a start forever. `parent` aborts it earlier.
 */
export function withinMs(
  clock: Clock,
  ms: number,
  call: (signal: AbortSignal) => Promise<void>,
  parent?: AbortSignal,
): Promise<void> {
  const abort = new AbortController();
  const onParent = () => abort.abort(parent?.reason);
  parent?.addEventListener('abort', onParent, { once: true });
  let timer: unknown;
  const timedOut = new Promise<never>((_, reject) => {
    timer = clock.setTimeout(() => {
      abort.abort();
      reject(new ActionError('ROLLBACK_TIMEOUT', `no answer within ${ms} ms`));
    }, ms);
  });
  return Promise.race([call(abort.signal), timedOut]).finally(() => {
    clock.clearTimeout(timer);
    parent?.removeEventListener('abort', onParent);
  });
}

/** Every action in flight in this process, by `{account_id}/{action_id}`. */
const inFlight = new Map<string, Running>();
const keyOf = (ctx: ActionInput) => `${ctx.account_id}/${ctx.action_id}`;
const stateOf = (ctx: ActionInput) => inFlight.get(keyOf(ctx)) as Running;

/**
 * The action machine with the runtime's implementations, provided once per process: what an
 * action needs (its signal, policy entry, writer, handlers, clock) is looked up by the key in
 * its context. Providing the machine per action rebuilt it every time (the largest cost of a
 * small action); providing it per tenant cost ~16 KB of memory per governor.
 */
function provideMachine() {
  const request = (ctx: ActionInput, abort: AbortSignal) => {
    const { action } = stateOf(ctx);
    return {
      action_id: ctx.action_id,
      account_id: ctx.account_id,
      kind: ctx.kind,
      params: ctx.params,
      idempotency_key: `${ctx.account_id}:${ctx.action_id}`,
      signal: abort,
      ...(action.handler === 'http'
        ? {
            endpoint: action.endpoint,
            ...(action.rollback ? { rollback_endpoint: action.rollback.endpoint } : {}),
          }
        : {}),
    };
  };
  const handlerOf = (ctx: ActionInput) => stateOf(ctx).deps.handlers[stateOf(ctx).action.handler];
  const now = (ctx: ActionInput) => stateOf(ctx).deps.clock.now();
  const elapsed = (ctx: ActionInput) => Math.max(0, now(ctx) - stateOf(ctx).started);
  const emit = (ctx: ActionInput, fields: Parameters<ChainWriter['emit']>[0]) => {
    const running = stateOf(ctx);
    try {
      const emitted = running.deps.writer.emit(fields);
      running.durables.push(emitted.durable);
      return emitted.receipt_id;
    } catch (e) {
      // The writer refuses after a failed commit (a conflict, a dead spool). Thrown here it
      // would escape XState and end the process; instead the action's durability fails, the
      // signal is nacked, and its log entry stays running for a restart to reconcile.
      const failed = Promise.reject(e instanceof Error ? e : new Error(String(e)));
      failed.catch(() => undefined);
      running.durables.push(failed);
      return UNWRITTEN_RECEIPT;
    }
  };
  const base = (ctx: ActionInput) => {
    const { signal } = stateOf(ctx);
    return {
      account_id: ctx.account_id,
      action_id: ctx.action_id,
      ...(signal.correlation_id ? { correlation_id: signal.correlation_id } : {}),
    };
  };
  const failed = (ctx: ActionContext, escalated: boolean) =>
    emit(ctx, {
      operation: 'action_failed',
      status: 'failed',
      duration_ms: elapsed(ctx),
      ...base(ctx),
      action_kind: ctx.kind,
      error_code: ctx.error?.code ?? 'UNKNOWN',
      error_message: ctx.error?.message ?? 'unknown failure',
      recoverable: ctx.recoverable,
      escalated,
    });
  return actionMachine.provide({
    actors: {
      execute: fromPromise<void, ActionInput>(({ input, signal: abort }) => {
        const handler = handlerOf(input);
        return handler
          ? handler.run(request(input, abort))
          : Promise.reject(
              Object.assign(new Error(`no handler for action kind ${input.kind}`), { code: 'NO_HANDLER' }),
            );
      }),
      // Bounded like the action itself: a rollback endpoint that never answers escalates.
      rollback: fromPromise<void, ActionInput>(({ input, signal: abort }) => {
        const handler = handlerOf(input);
        if (!handler) return Promise.resolve();
        return withinMs(
          stateOf(input).deps.clock,
          input.timeout_ms,
          (signal) => handler.rollback(request(input, signal)),
          abort,
        );
      }),
    },
    actions: {
      emitComplete: ({ context }) =>
        void emit(context, {
          operation: 'action_complete',
          status: 'success',
          duration_ms: elapsed(context),
          ...base(context),
          action_kind: context.kind,
          signal_id: stateOf(context).signal.signal_id,
        }),
      emitTimeout: assign({
        failure_receipt_id: ({ context }) =>
          emit(context, {
            operation: 'action_timeout',
            status: 'failed',
            duration_ms: elapsed(context),
            ...base(context),
            action_kind: context.kind,
            timeout_ms: context.timeout_ms,
          }),
      }),
      emitFailed: assign({ failure_receipt_id: ({ context }) => failed(context, !context.recoverable) }),
      markRollbackStart: assign({ rollback_started_at: ({ context }) => now(context) }),
      emitRolledBack: ({ context }) =>
        void emit(context, {
          operation: 'action_rolled_back',
          status: 'rolled_back',
          duration_ms: elapsed(context),
          ...base(context),
          previous_action_receipt_id: context.failure_receipt_id ?? '00000000-0000-4000-8000-000000000000',
          rollback_duration_ms: Math.max(0, now(context) - (context.rollback_started_at ?? now(context))),
        }),
      escalate: ({ context }) => {
        // An error already wrote action_failed (escalated); a timeout or a failed rollback has not.
        const alreadyFailed =
          context.error !== null &&
          context.error.code !== 'TIMEOUT' &&
          context.error.code !== 'ROLLBACK_FAILED';
        if (!alreadyFailed) failed(context, true);
        stateOf(context).deps.alerts.alert({
          severity: 'critical',
          code: 'ACTION_ESCALATED',
          message: `action ${context.action_id} (${context.kind}) needs review: ${context.error?.message ?? 'failed'}`,
          account_id: context.account_id,
        });
      },
    },
  });
}

/** How many finished action ids a runner keeps to recognise redeliveries without a store read. */
const RECENTLY_FINISHED = 256;

/** Stands in for the id of a receipt the writer refused to take (see `emit`). */
const UNWRITTEN_RECEIPT = '00000000-0000-4000-8000-000000000000';

let shared: ReturnType<typeof provideMachine> | undefined;

/**
 * A signal's action id. Derived from the signal id alone, so a redelivered or republished
 * signal maps to the same action log entry, and the log's create-once write runs it once.
 */
export function actionIdOf(signalId: string): string {
  return `${signalId}-a0`;
}

/**
 * Runs one tenant's actions (runbook 5): never more than `limit` at a time, each in its own
 * action machine with the policy's timeout, every outcome in a receipt. The caller queues what
 * it cannot start yet; `inFlight` is what the governor counts against its limit.
 */
export class ActionRunner {
  private readonly running = new Map<string, Running>();
  /**
   * Action ids whose create-once log write failed without an answer: it may have landed, so
   * the redelivery that then finds the entry is this process's own signal, not a duplicate.
   */
  private readonly unsure = new Set<string>();
  /**
   * The latest actions this runner finished, so a redelivery of one (Pub/Sub redelivers under
   * a backlog) is known a duplicate without asking the action log. Bounded; older ids fall
   * back to the log's create-once check.
   */
  private readonly finished = new Set<string>();
  /** Actions this runner started whose final log entry is not written yet (the log still says running). */
  private readonly logging = new Set<string>();
  private reserved = 0;
  /** How the actions this runner ran ended, for decommission's counts. */
  readonly outcomes: Record<ActionOutcome, number> = { complete: 0, rolled_back: 0, escalated: 0 };

  constructor(private readonly deps: ActionRunnerDeps) {}

  get inFlight(): number {
    return this.running.size + this.reserved;
  }

  /** Kinds of the actions in flight: a policy upgrade must keep permitting them. */
  inFlightKinds(): string[] {
    return [...new Set([...this.running.values()].map((r) => r.kind))];
  }

  /**
   * Starts one action now and resolves with its outcome once it has settled, or with
   * 'duplicate' (nothing run, no receipt) when the action log already has this signal's action
   * ended, or running here. One the log shows running but nothing here runs was left by a
   * previous owner of the tenant that lost it mid-action (its lease ran out, it was fenced, it
   * crashed) after this worker took the tenant over and reconciled the log: it is reconciled
   * now (`reconciled`), never skipped as a duplicate.
   */
  async run(signal: ActionSignal, action: PolicyAction): Promise<ActionResult | 'duplicate'> {
    const { account_id, directory, clock } = this.deps;
    const action_id = actionIdOf(signal.signal_id);
    const entry = {
      action_id,
      kind: signal.action_kind,
      signal_id: signal.signal_id,
      recoverable: action.recoverable,
      deadline_at: clock.now() + action.timeout_ms,
      started_at: clock.now(),
      started_seq: this.deps.writer.size,
    };
    // Counted in flight from here, so a limit check made meanwhile sees it.
    this.reserved += 1;
    let started = false;
    try {
      if (this.running.has(action_id) || this.logging.has(action_id) || this.finished.has(action_id))
        return 'duplicate';
      // Claimed by this runner from here: a redelivery meanwhile is this one's duplicate.
      this.logging.add(action_id);
      if (directory) {
        let created: boolean;
        try {
          created = await directory.startAction(account_id, { ...entry, state: 'running' });
        } catch (e) {
          this.unsure.add(action_id);
          throw e;
        }
        if (!created && !this.unsure.delete(action_id)) {
          const orphan = (await directory.runningActions(account_id)).find((e) => e.action_id === action_id);
          if (!orphan) return 'duplicate';
          const outcome = await this.reconcile(orphan, action, signal.correlation_id);
          return { action_id, outcome, durable: Promise.resolve(), reconciled: true };
        }
        if (created) this.unsure.delete(action_id);
      }
      started = true;
    } finally {
      this.reserved -= 1;
      if (!started) this.logging.delete(action_id);
    }
    const result = await this.start(action_id, signal, action);
    this.outcomes[result.outcome] += 1;
    // The log says how the action ended only once its receipts are durable: if they never
    // are, the entry stays running and a restart reconciles it, so no action goes unrecorded.
    const durable = result.durable
      .then(() => directory?.putAction(account_id, { ...entry, state: result.outcome }))
      .then(() => this.remember(action_id))
      .finally(() => this.logging.delete(action_id));
    durable.catch(() => undefined);
    return { ...result, durable };
  }

  /**
   * An action the log shows running with no actor any more (XState restores no timers; its
   * worker stopped, crashed or lost the tenant): it timed out. Same receipts as a live timeout:
   * action_timeout, then the rollback (recoverable) or an escalation (not); the log entry
   * then says how it ended. `action` is the policy's entry for its kind, if it still has one;
   * `correlationId` is the request's it is reconciled on behalf of (a redelivered signal's).
   */
  async reconcile(
    entry: ActionLogEntry,
    action: PolicyAction | undefined,
    correlationId?: string,
  ): Promise<ActionOutcome> {
    const { account_id, writer, handlers, alerts, clock, directory } = this.deps;
    // Its outcome may be on the chain already: the previous owner stopped after the receipt
    // and before the log entry said so. Then the log catches up, and nothing is run or said again.
    const ended = await this.outcomeOnChain(entry);
    if (ended) {
      await directory?.putAction(account_id, { ...entry, state: ended });
      return ended;
    }
    const base = {
      account_id,
      action_id: entry.action_id,
      ...(correlationId ? { correlation_id: correlationId } : {}),
    };
    // An escalation: the action did not end well and a person must look at it.
    const failed = (action_kind: string, error_code: string, error_message: string, recoverable: boolean) =>
      writer.emit({
        operation: 'action_failed',
        status: 'failed',
        duration_ms: 0,
        ...base,
        action_kind,
        error_code,
        error_message,
        recoverable,
        escalated: true,
      });
    let state: 'rolled_back' | 'escalated' = 'escalated';
    const malformed = malformedEntry(entry);
    if (malformed) {
      // Written by an older or broken build: say what was found, never fail the start over it.
      const kind =
        typeof entry.kind === 'string' && entry.kind.length > 0 ? entry.kind.slice(0, 200) : 'unknown';
      failed(
        kind,
        'MALFORMED_LOG_ENTRY',
        `the action log entry cannot be reconciled (${malformed}): ${JSON.stringify(entry).slice(0, 1500)}`,
        false,
      );
    } else {
      const timeoutMs = action?.timeout_ms ?? 0;
      const timeout = writer.emit({
        operation: 'action_timeout',
        status: 'failed',
        duration_ms: Math.max(0, clock.now() - (entry.deadline_at - timeoutMs)),
        ...base,
        action_kind: entry.kind,
        timeout_ms: timeoutMs,
      });
      const handler = action ? handlers[action.handler] : undefined;
      if (entry.recoverable && handler) {
        const started = clock.now();
        try {
          await withinMs(clock, timeoutMs, (signal) =>
            handler.rollback({
              ...base,
              kind: entry.kind,
              params: {},
              idempotency_key: `${account_id}:${entry.action_id}`,
              signal,
              // The same endpoints a live rollback gets: an http action undoes where it acted.
              ...(action?.handler === 'http'
                ? {
                    endpoint: action.endpoint,
                    ...(action.rollback ? { rollback_endpoint: action.rollback.endpoint } : {}),
                  }
                : {}),
            }),
          );
          writer.emit({
            operation: 'action_rolled_back',
            status: 'rolled_back',
            duration_ms: 0,
            ...base,
            previous_action_receipt_id: timeout.receipt_id,
            rollback_duration_ms: Math.max(0, clock.now() - started),
          });
          state = 'rolled_back';
        } catch (e) {
          failed(entry.kind, 'ROLLBACK_FAILED', String((e as Error).message ?? e).slice(0, 2000), true);
        }
      } else
        failed(entry.kind, 'ORPHANED', 'the action was running when its worker stopped', entry.recoverable);
    }
    if (state === 'escalated')
      alerts.alert({
        severity: 'critical',
        code: 'ACTION_ESCALATED',
        message: malformed
          ? `malformed action log entry ${entry.action_id} of ${account_id} needs review: ${malformed}`
          : `orphaned action ${entry.action_id} of ${account_id} needs review`,
        account_id,
      });
    await writer.flush();
    await directory?.putAction(account_id, { ...entry, state });
    return state;
  }

  /** The outcome receipt of `entry`'s action on the chain since it started, if there is one. */
  private async outcomeOnChain(entry: ActionLogEntry): Promise<ActionOutcome | null> {
    if (typeof entry.started_seq !== 'number' || !Number.isSafeInteger(entry.started_seq)) return null;
    for await (const body of this.deps.writer.bodiesFrom(Math.max(0, entry.started_seq))) {
      if (body.action_id !== entry.action_id) continue;
      if (body.operation === 'action_complete') return 'complete';
      if (body.operation === 'action_rolled_back') return 'rolled_back';
      if (body.operation === 'action_failed') return 'escalated';
    }
    return null;
  }

  private remember(action_id: string): void {
    this.finished.add(action_id);
    if (this.finished.size > RECENTLY_FINISHED) {
      const oldest = this.finished.values().next().value;
      if (oldest !== undefined) this.finished.delete(oldest);
    }
  }

  private start(action_id: string, signal: ActionSignal, action: PolicyAction): Promise<ActionResult> {
    const { account_id, clock } = this.deps;
    const actor = createActor((shared ??= provideMachine()), {
      input: {
        action_id,
        account_id,
        kind: signal.action_kind,
        params: signal.params,
        timeout_ms: action.timeout_ms,
        recoverable: action.recoverable,
      },
      clock,
    });
    const key = `${account_id}/${action_id}`;
    const running: Running = {
      deps: this.deps,
      actor,
      kind: signal.action_kind,
      signal,
      action,
      started: clock.now(),
      durables: [],
    };
    this.running.set(action_id, running);
    inFlight.set(key, running);
    return new Promise<ActionResult>((resolve) => {
      actor.subscribe({
        complete: () => {
          this.running.delete(action_id);
          inFlight.delete(key);
          const outcome = actor.getSnapshot().output?.outcome ?? 'escalated';
          resolve({ action_id, outcome, durable: Promise.all(running.durables).then(() => undefined) });
        },
      });
      actor.start();
      actor.send({ type: 'START' });
    });
  }
}
