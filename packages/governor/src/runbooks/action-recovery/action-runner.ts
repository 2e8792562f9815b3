import type { PolicyAction } from '@governor/contracts';
import { createActor } from 'xstate';
import type { ChainWriter } from '../../chain/chain-writer';
import { ActionError } from './action-error';
import type { ActionHandler, ActionLogEntry, ActionRequest, AlertSink, Clock } from '../../ports';
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
  /**
   * The tenant's chain. Its action log is the durable fact that outlives timers: XState does not
   * restore timers from a snapshot, so each deadline is written ahead before its action starts,
   * and a restart reconciles what was left running.
   */
  readonly writer: ChainWriter;
  readonly handlers: Readonly<Record<string, ActionHandler>>;
  readonly alerts: AlertSink;
  readonly clock: Clock;
}

/** One signal to run and the policy's entry for its kind. */
export interface ActionStart {
  readonly signal: ActionSignal;
  readonly action: PolicyAction;
}

/** What the write-ahead decided for one start. */
type Admission =
  | { readonly kind: 'start'; readonly entry: ActionLogEntry }
  | { readonly kind: 'duplicate' }
  | { readonly kind: 'orphan'; readonly entry: ActionLogEntry }
  | { readonly kind: 'failed'; readonly error: unknown };

/** One action machine to start: the signal it runs for and what the policy says of its kind. */
interface Launch {
  /** Its action log entry, running: the receipt that ends the action carries its final state. */
  readonly entry: ActionLogEntry;
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

  /** Runs one action: `runAll` of one. */
  async run(signal: ActionSignal, action: PolicyAction): Promise<ActionResult | 'duplicate'> {
    const [result] = await this.runAll([{ signal, action }]);
    return result as Promise<ActionResult | 'duplicate'>;
  }

  /**
   * Starts a batch of actions: their action log entries (each with its deadline) are made
   * durable in one write-ahead commit before any of them runs, then each runs in its own
   * machine, and the receipt that ends each carries its final log state (see
   * `writeActionReceipts`), so the writer's group commit settles the batch in one commit too.
   * Resolves once the write-ahead is done, with one promise per start: its outcome once it has
   * settled, or 'duplicate' (nothing run, no receipt) when the log already has the signal's
   * action ended, or running here, or earlier in the batch. One the log shows running but
   * nothing here runs was left by a previous owner of the tenant that lost it mid-action: it is
   * reconciled now (`reconciled`), never skipped as a duplicate. A write-ahead that fails
   * rejects every start it carried (nothing of them ran).
   */
  async runAll(starts: readonly ActionStart[]): Promise<Promise<ActionResult | 'duplicate'>[]> {
    const { clock, writer } = this.deps;
    const entries = starts.map(({ signal, action }) => ({
      action_id: actionIdOf(signal.signal_id),
      kind: signal.action_kind,
      signal_id: signal.signal_id,
      state: 'running' as const,
      recoverable: action.recoverable,
      deadline_at: clock.now() + action.timeout_ms,
      started_at: clock.now(),
      started_seq: writer.size,
    }));
    // Counted in flight from here (synchronously, before the first await), so a limit check
    // made meanwhile sees them.
    this.reserved += starts.length;
    let admissions: Admission[];
    try {
      admissions = await this.admit(entries);
    } finally {
      this.reserved -= starts.length;
    }
    // Launched in one synchronous step, so no limit check sees the batch neither reserved nor running.
    return admissions.map((admission, i) => {
      const { signal, action } = starts[i] as ActionStart;
      const result = this.settleAdmission(admission, signal, action);
      result.catch(() => undefined);
      return result;
    });
  }

  /** The write-ahead of `entries`: which to start, which are duplicates, which orphans. */
  private async admit(entries: readonly ActionLogEntry[]): Promise<Admission[]> {
    const admissions: Admission[] = entries.map((entry) => {
      const id = entry.action_id;
      if (this.running.has(id) || this.logging.has(id) || this.finished.has(id)) return { kind: 'duplicate' };
      // Claimed by this runner from here: a redelivery meanwhile is this one's duplicate.
      this.logging.add(id);
      return { kind: 'start', entry };
    });
    const fresh = admissions.flatMap((a) => (a.kind === 'start' ? [a.entry] : []));
    if (fresh.length === 0) return admissions;
    let created: boolean[];
    try {
      created = await this.deps.writer.startActions(fresh);
    } catch (error) {
      // Unanswered, the write may have landed: the redelivery that then finds an entry is ours.
      for (const e of fresh) {
        this.unsure.add(e.action_id);
        this.logging.delete(e.action_id);
      }
      return admissions.map((a) => (a.kind === 'start' ? { kind: 'failed', error } : a));
    }
    const found = new Set<string>();
    fresh.forEach((e, k) => {
      // Not created, yet written by this process earlier (an unanswered write that landed).
      if (!created[k] && !this.unsure.has(e.action_id)) found.add(e.action_id);
      this.unsure.delete(e.action_id);
    });
    if (found.size === 0) return admissions;
    let running: ActionLogEntry[];
    try {
      running = await this.deps.writer.runningActions();
    } catch (error) {
      for (const id of found) this.logging.delete(id);
      return admissions.map((a) =>
        a.kind === 'start' && found.has(a.entry.action_id) ? { kind: 'failed', error } : a,
      );
    }
    return admissions.map((a) => {
      if (a.kind !== 'start' || !found.has(a.entry.action_id)) return a;
      this.logging.delete(a.entry.action_id);
      const orphan = running.find((e) => e.action_id === a.entry.action_id);
      return orphan ? { kind: 'orphan', entry: orphan } : { kind: 'duplicate' };
    });
  }

  /** What becomes of one start once the write-ahead has decided. */
  private settleAdmission(
    admission: Admission,
    signal: ActionSignal,
    action: PolicyAction,
  ): Promise<ActionResult | 'duplicate'> {
    switch (admission.kind) {
      case 'duplicate':
        return Promise.resolve('duplicate');
      case 'failed':
        return Promise.reject(admission.error);
      case 'orphan': {
        // Held in flight while it is reconciled: the signal that found it holds its slot.
        this.reserved += 1;
        const { action_id } = admission.entry;
        return this.reconcile(admission.entry, action, signal.correlation_id)
          .then((outcome): ActionResult => ({
            action_id,
            outcome,
            durable: Promise.resolve(),
            reconciled: true,
          }))
          .finally(() => {
            this.reserved -= 1;
          });
      }
      case 'start':
        return this.start(admission.entry, signal, action);
    }
  }

  /** Launches a written-ahead action; its log entry settles with its last receipt. */
  private async start(
    entry: ActionLogEntry,
    signal: ActionSignal,
    action: PolicyAction,
  ): Promise<ActionResult> {
    const { action_id } = entry;
    const result = await this.launch({
      entry,
      signal,
      action,
      timeout_ms: action.timeout_ms,
      recoverable: action.recoverable,
      started: this.deps.clock.now(),
    });
    this.outcomes[result.outcome] += 1;
    // Until its receipts are durable the log says running: if they never are, a restart
    // reconciles it, so no action goes unrecorded.
    const durable = result.durable
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
    const { account_id, writer, alerts } = this.deps;
    // Written before receipts and log states were one commit: the log lags its receipt.
    const ended = await outcomeOnChain(writer, entry);
    if (ended) {
      await writer.putActions([{ ...entry, state: ended }]);
      return ended;
    }
    const problem = malformedEntry(entry);
    if (problem) return reportMalformed({ writer, alerts, account_id }, entry, problem, correlationId);
    // A chain that takes no receipt (its writer failed, or a newer owner fenced it) gets no
    // rollback either: the entry stays running for whoever can write the chain.
    if (writer.isFailed || writer.isFenced)
      throw new Error(`${writer.chain} takes no receipts now; ${entry.action_id} is left running`);
    const timeoutMs = action?.timeout_ms ?? 0;
    const result = await this.launch({
      entry,
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
      action_id: launch.entry.action_id,
      account_id,
      // An orphan is rolled back on behalf of the request that found it.
      ...(launch.orphaned && correlation_id ? { correlation_id } : {}),
      kind: launch.signal.action_kind,
      params: launch.signal.params,
      idempotency_key: `${account_id}:${launch.entry.action_id}`,
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
    const { signal, entry } = launch;
    const { action_id } = entry;
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
      entry,
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
