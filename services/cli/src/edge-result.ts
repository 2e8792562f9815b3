import type { EdgeAnswer, ReceiptCheck } from './edge-client';

/**
 * An answer of the governor's HTTP edge in words, for the one-line results of the commands that
 * talk to it (`webhook send`, `signal send`), and in the shape their `--json` prints.
 */

const text = (v: unknown) => (typeof v === 'string' ? v : '');

/** `422 PROVISIONING_FAILED acme: provisioning failed: …`: a refused answer. */
export function refusalText(answer: EdgeAnswer, accountId: string): string {
  const code = text(answer.body.code) || 'HTTP_ERROR';
  const message = text(answer.body.message) || text(answer.body.text);
  return `${answer.status} ${code} ${accountId}${message ? `: ${message}` : ''}`;
}

/** ` (verified)` or ` (NOT verified: why)` for a receipt fetched back; '' when none was. */
export function checkText(check: ReceiptCheck | null): string {
  if (check === null) return '';
  return check.ok ? ' (verified)' : ` (NOT verified: ${check.issues.join('; ')})`;
}

/** `seq N` of a receipt, from its check or else from what the answer carried. */
export function seqText(check: ReceiptCheck | null, fallback: unknown): string {
  const seq = check?.seq ?? (typeof fallback === 'number' ? fallback : null);
  return seq === null ? '' : ` seq ${seq}`;
}

/** The `--json` document of one call: the answer as the edge gave it, and what was verified. */
export function answerJson(answer: EdgeAnswer, ok: boolean, more: Record<string, unknown> = {}) {
  return {
    ok,
    status: answer.status,
    correlation_id: answer.correlationId,
    answer: answer.body,
    ...more,
  };
}
