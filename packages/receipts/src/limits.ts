/**
 * Bounds on what a verifier reads, so that a small hostile input (an archive that expands a
 * thousandfold, a flood of notes, entries or bad lines) ends quickly as INVALID (LIMIT_EXCEEDED)
 * with bounded memory, while an honest chain of any length still verifies. Every limit is far
 * above what the writers in this repository produce; the figures behind each are in its comment.
 */
export interface VerifyLimits {
  /**
   * Longest line held in memory; a longer one is skipped unread and reported. A stored receipt
   * is a few KB; the largest the schemas allow (a worker's `degraded_mode` naming thousands of
   * tenants) stays well under 1 MiB.
   */
  readonly maxLineBytes: number;
  /** Issues listed in a report; later ones are only counted (`issues_omitted`). */
  readonly maxIssuesListed: number;
  /**
   * Issues after which reading stops: the verdict is INVALID already, and every line that is
   * not a valid receipt costs an issue, so this bounds the work a flood of bad lines can cause.
   */
  readonly maxIssues: number;
  /** Blank lines tolerated: they are not receipts and cost no issue, so they need their own bound. */
  readonly maxBlankLines: number;
  /** Checkpoint notes considered; an archive carries one, a verify-chain run a handful. */
  readonly maxCheckpoints: number;
  /** Bytes of one checkpoint note: ~300 with one signature, ~100 more per witness cosignature. */
  readonly maxNoteBytes: number;
  /** Entries of an archive: its four fixed files and up to `maxCheckpoints` notes. */
  readonly maxEntries: number;
  /** Bytes of an entry name (a ustar name holds at most 255). */
  readonly maxEntryNameBytes: number;
  /** Bytes of manifest.json and of keys.json: each is a few hundred bytes per file or key. */
  readonly maxMetadataBytes: number;
  /** Bytes of manifest.sig: one key id and one signature. */
  readonly maxSignatureBytes: number;
  /**
   * Bytes a gzip stream may expand to, per compressed byte read (after `expansionAllowance`
   * free bytes). Archives of receipts expand about 4.5 times (hashes, signatures and ids do not
   * compress); gzip can reach ~1,000 on repeated bytes, which is what a bomb uses.
   */
  readonly maxExpansion: number;
  /** Bytes that may expand without counting against `maxExpansion`: small archives of anything. */
  readonly expansionAllowance: number;
}

export const DEFAULT_LIMITS: VerifyLimits = {
  maxLineBytes: 1024 * 1024,
  maxIssuesListed: 1_000,
  maxIssues: 100_000,
  maxBlankLines: 1_000,
  maxCheckpoints: 1_000,
  maxNoteBytes: 16 * 1024,
  maxEntries: 1_004,
  maxEntryNameBytes: 255,
  maxMetadataBytes: 1024 * 1024,
  maxSignatureBytes: 4 * 1024,
  maxExpansion: 100,
  expansionAllowance: 16 * 1024 * 1024,
};

/** The defaults with the given overrides (tests pass tiny limits). */
export function resolveLimits(overrides: Partial<VerifyLimits> = {}): VerifyLimits {
  return { ...DEFAULT_LIMITS, ...overrides };
}

/** Untrusted text cut short for an issue's detail. */
export function clip(text: string, max = 80): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
