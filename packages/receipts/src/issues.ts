/** Stable codes of everything a verifier can find wrong. */
export const IssueCode = {
  NON_CANONICAL: 'NON_CANONICAL',
  SCHEMA_INVALID: 'SCHEMA_INVALID',
  HASH_MISMATCH: 'HASH_MISMATCH',
  SIGNATURE_INVALID: 'SIGNATURE_INVALID',
  UNKNOWN_KEY: 'UNKNOWN_KEY',
  KEY_NOT_VALID: 'KEY_NOT_VALID',
  CHAIN_BROKEN: 'CHAIN_BROKEN',
  SEQ_GAP: 'SEQ_GAP',
  FORK: 'FORK',
  TIMESTAMP_REGRESSION: 'TIMESTAMP_REGRESSION',
  ACCOUNT_MISMATCH: 'ACCOUNT_MISMATCH',
  CHECKPOINT_MISMATCH: 'CHECKPOINT_MISMATCH',
  TRUNCATED: 'TRUNCATED',
  /** No receipt at all: fails closed unless the caller says an empty chain is expected (`allowEmpty`). */
  EMPTY: 'EMPTY',
  /** Archive only: a manifest that does not match the archive's contents or is not signed by a trusted key. */
  MANIFEST_MISMATCH: 'MANIFEST_MISMATCH',
  /** Archive only: verified against the archive's own keys, which prove integrity but not who signed. */
  KEYS_NOT_ANCHORED: 'KEYS_NOT_ANCHORED',
  /** verify-receipt only: the inclusion proof does not lead to the checkpoint's root. */
  INCLUSION_FAILED: 'INCLUSION_FAILED',
  NOT_FOUND: 'NOT_FOUND',
  /**
   * A bound on the input was exceeded (its size, lines, entries, notes, issues, expansion), so
   * reading stopped there: fails closed, and the detail names the bound and where it stopped.
   */
  LIMIT_EXCEEDED: 'LIMIT_EXCEEDED',
} as const;
export type IssueCode = (typeof IssueCode)[keyof typeof IssueCode];

export interface VerifyIssue {
  readonly code: IssueCode;
  /** The seq the issue concerns, or null when it cannot be known (an unparseable line). */
  readonly seq: number | null;
  readonly detail: string;
}

export function formatIssue(issue: VerifyIssue): string {
  return `${issue.code} seq=${issue.seq ?? '-'} ${issue.detail}`;
}
