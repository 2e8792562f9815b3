import type { VerifyIssue } from '../issues';
import type { Keyring } from '../keys';
import type { VerifyLimits } from '../limits';

export type VerifyMode = 'full' | 'checkpoint';

export interface VerifyOptions {
  readonly keyring: Keyring;
  /** The chain the receipts must belong to; otherwise the first receipt's chain is taken. */
  readonly expectedChain?: string;
  /** Signed checkpoint notes (text) the chain must be consistent with. */
  readonly checkpoints?: readonly string[];
  /**
   * `full` checks every receipt (canonical bytes, schema, hash, links, signature, key validity).
   * `checkpoint` checks hashes and links, and trusts signatures only on checkpoints for the
   * receipts a trusted checkpoint covers; receipts past the last trusted checkpoint still get
   * every check. Much faster, and as strong, for a chain that is checkpointed.
   */
  readonly mode?: VerifyMode;
  /** Worker threads for signatures; 0 checks them on the calling thread. Default: one per core. */
  readonly threads?: number;
  /**
   * Verify a segment instead of a whole chain: the first receipt fed must be `seq` and link to
   * `prev_hash`. Checkpoints cannot be checked on a segment.
   */
  readonly from?: { readonly seq: number; readonly prev_hash: string };
  /** Bounds on issues, blank lines and checkpoints (defaults in limits.ts). */
  readonly limits?: Partial<VerifyLimits>;
  /**
   * An input with no receipt is INVALID (EMPTY) unless this says an empty chain is expected:
   * an empty or unreadable export must never read as a valid chain.
   */
  readonly allowEmpty?: boolean;
}

export interface VerifyReport {
  readonly ok: boolean;
  readonly mode: VerifyMode;
  readonly chain: string | null;
  readonly count: number;
  readonly first_seq: number | null;
  readonly last_seq: number | null;
  readonly head_hash: string | null;
  readonly checkpoints_verified: number;
  /** The first `maxIssuesListed` issues, and LIMIT_EXCEEDED if reading stopped at a limit. */
  readonly issues: VerifyIssue[];
  /** Issues found but not listed. */
  readonly issues_omitted: number;
}
