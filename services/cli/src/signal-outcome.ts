/**
 * How a signal ended, read from the receipt that ends it: done, or refused or failed and why.
 * The reason is what a person acts on: the refusal's reason (`not_permitted`, `quota_exhausted`,
 * …), the failed action's error code, or the quota a scale request ran into.
 */

/** The fields of a receipt body this reads (every operation's body has the envelope ones). */
export interface ReceiptBody {
  readonly receipt_id: string;
  readonly seq: number;
  readonly operation: string;
  readonly status: string;
  readonly correlation_id?: string;
  readonly [field: string]: unknown;
}

export interface SignalOutcome {
  /** The signal did what it asked: the action completed, or the governor scaled. */
  readonly ok: boolean;
  readonly operation: string;
  readonly status: string;
  /** Why it did not (null when it did). */
  readonly reason: string | null;
  /** A sentence more, when the receipt has one (a failed action's error message). */
  readonly message: string | null;
  readonly receipt: ReceiptBody;
}

const DONE = new Set(['success', 'complete']);

const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : null);

function reasonOf(body: ReceiptBody): { reason: string | null; message: string | null } {
  switch (body.operation) {
    case 'action_refused':
      return { reason: str(body.reason), message: null };
    case 'action_failed':
      return { reason: str(body.error_code), message: str(body.error_message) };
    case 'action_timeout':
      return {
        reason: 'TIMEOUT',
        message: typeof body.timeout_ms === 'number' ? `no answer within ${body.timeout_ms} ms` : null,
      };
    case 'action_rolled_back':
      return { reason: 'ROLLED_BACK', message: null };
    case 'quota_exceeded': {
      const c = body.concurrency as { requested?: unknown } | undefined;
      return {
        reason: 'quota_exceeded',
        message: `requested an in-flight limit of ${String(c?.requested)}, the plan allows ${String(body.max_concurrent_actions)}`,
      };
    }
    default:
      return { reason: DONE.has(body.status) ? null : body.status, message: null };
  }
}

export function outcomeOf(body: ReceiptBody): SignalOutcome {
  const ok = DONE.has(body.status);
  const { reason, message } = ok ? { reason: null, message: null } : reasonOf(body);
  return { ok, operation: body.operation, status: body.status, reason, message, receipt: body };
}
