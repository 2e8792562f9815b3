import {
  checkpointSignatureProblem,
  noteWithin,
  originOf,
  parseCheckpoint,
  type SignedCheckpoint,
} from '../checkpoint';
import type { Keyring } from '../keys';
import type { VerifyLimits } from '../limits';
import { CompactRange } from '../merkle';
import type { IssueLog } from './issue-log';
import type { ChainOwner } from './owner';

/**
 * The signed checkpoints a chain must be consistent with. Only trusted ones (signature and key
 * valid, origin the chain's) count; each is compared with the Merkle tree of the receipts when
 * the chain reaches its size, and one the chain never reached means the chain is truncated.
 */
export class CheckpointCheck {
  /** Checkpoints whose signature and key are trusted; only these vouch for receipts. */
  private readonly trusted: SignedCheckpoint[] = [];
  /** The same, by size: each receipt looks up its size instead of scanning every checkpoint. */
  private readonly trustedAt = new Map<number, SignedCheckpoint[]>();
  private readonly compared = new Set<SignedCheckpoint>();
  private readonly tree = CompactRange.empty();
  private matched = 0;

  constructor(
    notes: readonly string[],
    keyring: Keyring,
    private readonly owner: ChainOwner,
    private readonly log: IssueLog,
    limits: VerifyLimits,
  ) {
    const texts = [...new Set(notes)];
    if (texts.length > limits.maxCheckpoints)
      log.stop(
        `${texts.length} checkpoint notes, more than the ${limits.maxCheckpoints} a verification considers`,
      );
    for (const text of texts) {
      if (log.stopped) break;
      const note = this.read(text, keyring, limits);
      if (note !== null) this.trusted.push(note);
    }
    this.trusted.sort((a, b) => a.checkpoint.size - b.checkpoint.size);
    for (const cp of this.trusted) {
      const at = this.trustedAt.get(cp.checkpoint.size);
      if (at) at.push(cp);
      else this.trustedAt.set(cp.checkpoint.size, [cp]);
    }
  }

  /** A note's checkpoint if it is trusted; otherwise null, with the reason reported. */
  private read(text: string, keyring: Keyring, limits: VerifyLimits): SignedCheckpoint | null {
    if (!noteWithin(text, limits.maxNoteBytes)) {
      this.log.report(
        'LIMIT_EXCEEDED',
        null,
        `a checkpoint note is larger than ${limits.maxNoteBytes} bytes: not read`,
      );
      return null;
    }
    let note: SignedCheckpoint;
    try {
      note = parseCheckpoint(text, limits.maxNoteBytes);
    } catch (e) {
      this.log.report('CHECKPOINT_MISMATCH', null, (e as Error).message);
      return null;
    }
    // A checkpoint that is not trusted vouches for nothing, so it can neither cover receipts
    // nor claim the chain is truncated.
    const problem = checkpointSignatureProblem(note, keyring);
    const size = note.checkpoint.size;
    const chain = this.owner.chain;
    if (problem !== null)
      this.log.report(
        'CHECKPOINT_MISMATCH',
        size > 0 ? size - 1 : null,
        `checkpoint at size ${size}: ${problem}`,
      );
    else if (chain !== null && note.checkpoint.origin !== originOf(chain)) {
      this.log.report(
        'CHECKPOINT_MISMATCH',
        null,
        `checkpoint origin ${note.checkpoint.origin} is not ${originOf(chain)}`,
      );
    } else return note;
    return null;
  }

  /** Trusted checkpoints that matched the receipts. */
  get verified(): number {
    return this.matched;
  }

  /** True while the next receipt is below the last trusted checkpoint, which vouches for it. */
  vouchesForNext(): boolean {
    return this.tree.size < (this.trusted[this.trusted.length - 1]?.checkpoint.size ?? 0);
  }

  /** Adds a receipt's leaf to the tree, and compares the checkpoints at the size it reaches. */
  append(leaf: Buffer, leafHex: string): void {
    this.tree.append(leaf);
    const size = this.tree.size;
    const chain = this.owner.chain;
    for (const cp of this.trustedAt.get(size) ?? []) {
      this.compared.add(cp);
      const problems: string[] = [];
      if (chain !== null && cp.checkpoint.origin !== originOf(chain))
        problems.push(`origin ${cp.checkpoint.origin} is not ${originOf(chain)}`);
      if (!this.tree.root().equals(cp.checkpoint.root))
        problems.push('Merkle root differs from the receipts');
      if (cp.checkpoint.head_hash !== leafHex)
        problems.push('head hash differs from the receipt at this size');
      if (problems.length > 0)
        this.log.report(
          'CHECKPOINT_MISMATCH',
          size - 1,
          `checkpoint at size ${size}: ${problems.join('; ')}`,
        );
      else this.matched += 1;
    }
  }

  /** Reports the trusted checkpoints never compared, once the chain ended before seq `next`. */
  finish(next: number): void {
    for (const cp of this.trusted) {
      if (this.compared.has(cp)) continue;
      const size = cp.checkpoint.size;
      if (next < size)
        this.log.report(
          'TRUNCATED',
          next,
          `chain ends at seq ${next - 1} but a signed checkpoint covers ${size} receipts`,
        );
      // The chain reaches the checkpoint's size but its lines never added up to it (missing or
      // duplicated receipts in between), so the root could not be compared.
      else
        this.log.report(
          'CHECKPOINT_MISMATCH',
          size - 1,
          `checkpoint at size ${size}: receipts before it are missing or duplicated, so its root cannot be matched`,
        );
    }
  }
}
