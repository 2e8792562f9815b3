import { createHash } from 'node:crypto';
import { CompactRange, EMPTY_ROOT, inclusionProof, leafHash, nodeHash, verifyInclusion } from '../index';

// Straight from RFC 6962 section 2.1, recursively, as the reference.
function mth(leaves: Buffer[]): Buffer {
  if (leaves.length === 0) return createHash('sha256').digest();
  if (leaves.length === 1) return leaves[0] as Buffer;
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return nodeHash(mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}

const leaves = Array.from({ length: 70 }, (_, i) => leafHash(`leaf ${i}`));

describe('Merkle tree (RFC 6962)', () => {
  it('the compact range gives the RFC 6962 root at every size', () => {
    const range = CompactRange.empty();
    expect(range.root().equals(EMPTY_ROOT)).toBe(true);
    for (let n = 1; n <= leaves.length; n++) {
      range.append(leaves[n - 1] as Buffer);
      expect(range.root().toString('hex')).toBe(mth(leaves.slice(0, n)).toString('hex'));
    }
  });

  it('keeps O(log n) state and survives a round trip through JSON', () => {
    const range = CompactRange.empty();
    leaves.forEach((l) => range.append(l));
    expect(range.toJSON().roots).toHaveLength(3); // 70 = 64 + 4 + 2
    expect(CompactRange.fromJSON(range.toJSON()).root().equals(range.root())).toBe(true);
  });

  it('every leaf of every tree size has an inclusion proof that verifies, and only against the right root', () => {
    for (let size = 1; size <= 33; size++) {
      const root = mth(leaves.slice(0, size));
      for (let i = 0; i < size; i++) {
        const proof = inclusionProof(leaves, i, size);
        expect(verifyInclusion(leaves[i] as Buffer, i, size, proof, root)).toBe(true);
        expect(verifyInclusion(leaves[(i + 1) % 70] as Buffer, i, size, proof, root)).toBe(false);
        if (proof.length > 0) {
          const tampered = proof.map((p, j) => (j === 0 ? leafHash('x') : p));
          expect(verifyInclusion(leaves[i] as Buffer, i, size, tampered, root)).toBe(false);
        }
      }
    }
  });

  it('rejects an index outside the tree and a proof of the wrong length', () => {
    const proof = inclusionProof(leaves, 3, 8);
    const root = mth(leaves.slice(0, 8));
    expect(verifyInclusion(leaves[3] as Buffer, 8, 8, proof, root)).toBe(false);
    expect(verifyInclusion(leaves[3] as Buffer, 3, 8, proof.slice(1), root)).toBe(false);
    expect(verifyInclusion(leaves[3] as Buffer, 3, 8, [...proof, leaves[0] as Buffer], root)).toBe(false);
    expect(() => inclusionProof(leaves, 9, 8)).toThrow(RangeError);
  });
});
