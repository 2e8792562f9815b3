import { createHash } from 'node:crypto';
import { nodeHash } from './hash';

/** Root of the empty tree (RFC 6962): SHA-256 of nothing. */
export const EMPTY_ROOT = createHash('sha256').digest();

/**
 * The compact range of an RFC 6962 tree: one root per perfect subtree, largest first, one for
 * each set bit of the size. Appending is O(log n) amortised and the whole state is O(log n),
 * so it can be kept with a chain head and a verifier never holds all leaves.
 */
export class CompactRange {
  private constructor(
    private sizeValue: number,
    private readonly roots: Buffer[],
  ) {}

  static empty(): CompactRange {
    return new CompactRange(0, []);
  }

  /** Rebuilds a range saved with `toJSON()`. */
  static fromJSON(saved: { size: number; roots: string[] }): CompactRange {
    return new CompactRange(
      saved.size,
      saved.roots.map((r) => Buffer.from(r, 'hex')),
    );
  }

  get size(): number {
    return this.sizeValue;
  }

  append(leaf: Buffer): void {
    this.roots.push(leaf);
    // Merge equal-sized subtrees: one merge per trailing one-bit of the old size.
    for (let n = this.sizeValue; n % 2 === 1; n = Math.floor(n / 2)) {
      const right = this.roots.pop() as Buffer;
      const left = this.roots.pop() as Buffer;
      this.roots.push(nodeHash(left, right));
    }
    this.sizeValue += 1;
  }

  root(): Buffer {
    if (this.roots.length === 0) return EMPTY_ROOT;
    let acc = this.roots[this.roots.length - 1] as Buffer;
    for (let i = this.roots.length - 2; i >= 0; i--) acc = nodeHash(this.roots[i] as Buffer, acc);
    return acc;
  }

  clone(): CompactRange {
    return new CompactRange(this.sizeValue, [...this.roots]);
  }

  toJSON(): { size: number; roots: string[] } {
    return { size: this.sizeValue, roots: this.roots.map((r) => r.toString('hex')) };
  }
}

function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH(D[lo:hi]) of RFC 6962 over leaf hashes. */
export function subtreeRoot(leaves: readonly Buffer[], lo = 0, hi = leaves.length): Buffer {
  const range = CompactRange.empty();
  for (let i = lo; i < hi; i++) range.append(leaves[i] as Buffer);
  return range.root();
}

/** RFC 6962 audit path PATH(index, D[0:size]) for the leaf at `index`. */
export function inclusionProof(leaves: readonly Buffer[], index: number, size = leaves.length): Buffer[] {
  if (index < 0 || index >= size || size > leaves.length)
    throw new RangeError(`leaf ${index} is not in a tree of ${size}`);
  const path: Buffer[] = [];
  let lo = 0;
  let hi = size;
  // Walk down from the root, collecting the sibling subtree at each split; reversed at the end
  // because the audit path lists siblings from the leaf upwards.
  while (hi - lo > 1) {
    const k = largestPowerOfTwoBelow(hi - lo);
    if (index < lo + k) {
      path.push(subtreeRoot(leaves, lo + k, hi));
      hi = lo + k;
    } else {
      path.push(subtreeRoot(leaves, lo, lo + k));
      lo = lo + k;
    }
  }
  return path.reverse();
}

/** RFC 9162 section 2.1.3.2: does `proof` take `leaf` at `index` to `root` in a tree of `size`? */
export function verifyInclusion(
  leaf: Buffer,
  index: number,
  size: number,
  proof: readonly Buffer[],
  root: Buffer,
): boolean {
  if (index < 0 || index >= size) return false;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && r.equals(root);
}
