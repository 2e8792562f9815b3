import type { PolicyAction } from '@governor/contracts';
import { createActor } from 'xstate';
import type { ChainWriter } from '../../chain/chain-writer';
import { ActionError } from './action-error';
import type {
  ActionHandler,
  ActionLogEntry,
  ActionRequest,
  AlertSink,
  Clock,
  TenantDirectory,
} from '../../ports';
import { writeActionReceipts } from './action-receipts';
import { actionMachine, type ActionOutcome } from './action.machine';
import { malformedEntry, outcomeOnChain, reportMalformed } from './reconcile';
import { withinMs } from './within';

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

/** One action machine to start: the signal it runs for and what the policy says of its kind. */
interface Launch {
  readonly action_id: string;
  readonly signal: ActionSignal;
  /** The policy's entry for the kind; an orphan's kind may have left the policy since. */
  readonly action: PolicyAction | undefined;
  readonly timeout_ms: number;
  readonly recoverable: boolean;
  readonly started: number;
  readonly orphaned?: true;
}

/** How many finished action ids a runner keeps to recognise redeliveries without a store read. */
const RECENTLY_FINISHED = 256;

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
  /** Kinds of the action machines running now, by action id. */
  private readonly running = new Map<string, string>();
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
    return [...new Set(this.running.values())];
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
    const result = await this.launch({
      action_id,
      signal,
      action,
      timeout_ms: action.timeout_ms,
      recoverable: action.recoverable,
      started: clock.now(),
    });
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
   * worker stopped, crashed or lost the tenant): it timed out. Its action machine runs again
   * from the timed-out path, so the receipts are a live timeout's: action_timeout, then the
   * rollback (recoverable, with a handler) or an escalation (not); the log entry then says how
   * it ended. `action` is the policy's entry for its kind, if it still has one;
   * `correlationId` is the request's it is reconciled on behalf of (a redelivered signal's).
   */
  async reconcile(
    entry: ActionLogEntry,
    action: PolicyAction | undefined,
    correlationId?: string,
  ): Promise<ActionOutcome> {
    const { account_id, writer, alerts, directory } = this.deps;
    const ended = await outcomeOnChain(writer, entry);
    if (ended) {
      await directory?.putAction(account_id, { ...entry, state: ended });
      return ended;
    }
    const problem = malformedEntry(entry);
    if (problem) {
      const state = await reportMalformed({ writer, alerts, account_id }, entry, problem, correlationId);
      await directory?.putAction(account_id, { ...entry, state });
      return state;
    }
    // A chain that takes no receipt (its writer failed, or a newer owner fenced it) gets no
    // rollback either: the entry stays running for whoever can write the chain.
    if (writer.isFailed || writer.isFenced)
      throw new Error(`${writer.chain} takes no receipts now; ${entry.action_id} is left running`);
    const timeoutMs = action?.timeout_ms ?? 0;
    const result = await this.launch({
      action_id: entry.action_id,
      signal: {
        signal_id: entry.signal_id,
        action_kind: entry.kind,
        params: {},
        ...(correlationId ? { correlation_id: correlationId } : {}),
      },
      action,
      timeout_ms: timeoutMs,
      recoverable: entry.recoverable,
      started: entry.deadline_at - timeoutMs,
      orphaned: true,
    });
    await result.durable;
    await directory?.putAction(account_id, { ...entry, state: result.outcome });
    return result.outcome;
  }

  private remember(action_id: string): void {
    this.finished.add(action_id);
    if (this.finished.size > RECENTLY_FINISHED) {
      const oldest = this.finished.values().next().value;
      if (oldest !== undefined) this.finished.delete(oldest);
    }
  }

  /** The request a handler gets for the action: the endpoints an http action acts and undoes at. */
  private request(launch: Launch, signal: AbortSignal): ActionRequest & { correlation_id?: string } {
    const { account_id } = this.deps;
    const { action } = launch;
    const { correlation_id } = launch.signal;
    return {
      action_id: launch.action_id,
      account_id,
      // An orphan is rolled back on behalf of the request that found it.
      ...(launch.orphaned && correlation_id ? { correlation_id } : {}),
      kind: launch.signal.action_kind,
      params: launch.signal.params,
      idempotency_key: `${account_id}:${launch.action_id}`,
      signal,
      ...(action?.handler === 'http'
        ? {
            endpoint: action.endpoint,
            ...(action.rollback ? { rollback_endpoint: action.rollback.endpoint } : {}),
          }
        : {}),
    };
  }

  /** Runs one action machine to its end, its receipts written as it announces each step. */
  private launch(launch: Launch): Promise<ActionResult> {
    const { account_id, clock, handlers } = this.deps;
    const { action_id, signal } = launch;
    const handler = launch.action ? handlers[launch.action.handler] : undefined;
    const actor = createActor(actionMachine, {
      input: {
        action_id,
        account_id,
        kind: signal.action_kind,
        params: signal.params,
        timeout_ms: launch.timeout_ms,
        recoverable: launch.recoverable,
        execute: (abort) =>
          handler
            ? handler.run(this.request(launch, abort))
            : Promise.reject(
                new ActionError('NO_HANDLER', `no handler for action kind ${signal.action_kind}`),
              ),
        // Bounded like the action itself: a rollback endpoint that never answers escalates.
        rollback: (abort) => {
          // An orphan whose timeout the chain refused is not undone behind the chain's back.
          const refused = launch.orphaned ? receipts.refused() : undefined;
          if (refused) return Promise.reject(refused);
          return handler
            ? withinMs(clock, launch.timeout_ms, (s) => handler.rollback(this.request(launch, s)), abort)
            : Promise.resolve();
        },
        ...(launch.orphaned ? { orphaned: { rollback: handler !== undefined } } : {}),
      },
      clock,
    });
    const receipts = writeActionReceipts(actor, {
      ...this.deps,
      action_id,
      kind: signal.action_kind,
      signal_id: signal.signal_id,
      ...(signal.correlation_id ? { correlation_id: signal.correlation_id } : {}),
      timeout_ms: launch.timeout_ms,
      recoverable: launch.recoverable,
      started: launch.started,
      orphaned: launch.orphaned === true,
    });
    // An orphan is not counted in flight: the signal that found it holds its slot, or none does.
    if (!launch.orphaned) this.running.set(action_id, signal.action_kind);
    return new Promise<ActionResult>((resolve) => {
      actor.subscribe({
        complete: () => {
          if (!launch.orphaned) this.running.delete(action_id);
          const outcome = actor.getSnapshot().output?.outcome ?? 'escalated';
          resolve({ action_id, outcome, durable: Promise.all(receipts.durables).then(() => undefined) });
        },
      });
      actor.start();
      actor.send({ type: 'START' });
    });
  }
}
