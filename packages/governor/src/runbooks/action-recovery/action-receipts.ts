import type { ReceiptFields } from '@governor/contracts';
import type { Actor } from 'xstate';
import type { ChainWriter } from '../../chain/chain-writer';
import type { ActionLogEntry, AlertSink, Clock } from '../../ports';
import type { ActionFailure, actionMachine } from './action.machine';

/** Stands in for the id of a receipt the writer refused to take (see `writeActionReceipts`). */
export const UNWRITTEN_RECEIPT = '00000000-0000-4000-8000-000000000000';

/** What an action's receipts say about it besides what its machine announces. */
export interface ActionReceiptContext {
  readonly writer: ChainWriter;
  readonly alerts: AlertSink;
  readonly clock: Clock;
  readonly account_id: string;
  /** The action's log entry: the receipt that ends the action carries it in its final state. */
  readonly entry: ActionLogEntry;
  readonly kind: string;
  readonly signal_id: string;
  readonly correlation_id?: string;
  readonly timeout_ms: number;
  readonly recoverable: boolean;
  /** Clock time the action started; for an orphan, its deadline less its timeout. */
  readonly started: number;
  /** Left running by a previous owner (see `ActionInput.orphaned`). */
  readonly orphaned: boolean;
}

/** The receipts of one action as they are written. */
export interface ActionReceipts {
  /** One promise per receipt written so far, settled when it is durable. */
  readonly durables: Promise<void>[];
  /** Why the writer refused a receipt of this action, if it did. */
  refused(): Error | undefined;
}

/**
 * Runbook 5's receipts: listens to what the action machine announces and writes the receipt
 * of each step to the tenant chain (action_complete, action_timeout, action_failed,
 * action_rolled_back) and raises the escalation alert. The receipt that ends the action
 * (complete, rolled back, or the failure that escalates it) carries the log entry's final
 * state, stored by the same commit.
 */
export function writeActionReceipts(
  actor: Actor<typeof actionMachine>,
  ctx: ActionReceiptContext,
): ActionReceipts {
  const durables: Promise<void>[] = [];
  let refused: Error | undefined;
  let failureReceiptId: string | null = null;
  let rollbackStartedAt: number | null = null;
  const now = () => ctx.clock.now();
  const elapsed = () => Math.max(0, now() - ctx.started);
  const base = {
    account_id: ctx.account_id,
    action_id: ctx.entry.action_id,
    ...(ctx.correlation_id ? { correlation_id: ctx.correlation_id } : {}),
  };
  const write = (fields: ReceiptFields, ends?: ActionLogEntry['state']): string => {
    try {
      const emitted = ctx.writer.emit(fields, ends ? { ...ctx.entry, state: ends } : undefined);
      durables.push(emitted.durable);
      return emitted.receipt_id;
    } catch (e) {
      // The writer refuses after a failed commit (a conflict, a dead spool). Thrown here it
      // would escape XState and end the process; instead the action's durability fails, the
      // signal is nacked, and its log entry stays running for a restart to reconcile.
      const error = e instanceof Error ? e : new Error(String(e));
      refused ??= error;
      const failed = Promise.reject(error);
      failed.catch(() => undefined);
      durables.push(failed);
      return UNWRITTEN_RECEIPT;
    }
  };
  const failed = (error: ActionFailure | null, escalated: boolean) =>
    write(
      {
        operation: 'action_failed',
        status: 'failed',
        duration_ms: elapsed(),
        ...base,
        action_kind: ctx.kind,
        error_code: error?.code ?? 'UNKNOWN',
        error_message: (error?.message ?? 'unknown failure').slice(0, 2000),
        recoverable: ctx.recoverable,
        escalated,
      },
      escalated ? 'escalated' : undefined,
    );

  actor.on('completed', () =>
    write(
      {
        operation: 'action_complete',
        status: 'success',
        duration_ms: elapsed(),
        ...base,
        action_kind: ctx.kind,
        signal_id: ctx.signal_id,
      },
      'complete',
    ),
  );
  actor.on('timed_out', () => {
    failureReceiptId = write({
      operation: 'action_timeout',
      status: 'failed',
      duration_ms: elapsed(),
      ...base,
      action_kind: ctx.kind,
      timeout_ms: ctx.timeout_ms,
    });
  });
  actor.on('errored', (event) => {
    failureReceiptId = failed(event.error, event.escalated);
  });
  actor.on('rollback_started', () => {
    rollbackStartedAt = now();
  });
  actor.on('rolled_back', () =>
    write(
      {
        operation: 'action_rolled_back',
        status: 'rolled_back',
        duration_ms: elapsed(),
        ...base,
        previous_action_receipt_id: failureReceiptId ?? UNWRITTEN_RECEIPT,
        rollback_duration_ms: Math.max(0, now() - (rollbackStartedAt ?? now())),
      },
      'rolled_back',
    ),
  );
  actor.on('escalated', (event) => {
    if (!event.reported) failed(event.error, true);
    ctx.alerts.alert({
      severity: 'critical',
      code: 'ACTION_ESCALATED',
      message: ctx.orphaned
        ? `orphaned action ${ctx.entry.action_id} of ${ctx.account_id} needs review`
        : `action ${ctx.entry.action_id} (${ctx.kind}) needs review: ${event.error?.message ?? 'failed'}`,
      account_id: ctx.account_id,
    });
  });
  return { durables, refused: () => refused };
}
