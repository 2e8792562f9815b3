import { leafHash, subtreeRoot } from '@governor/receipts';
import { proveInclusion } from '..';

const leaves = Array.from({ length: 7 }, (_, i) => leafHash(`{"seq":${i}}`));

describe('proveInclusion', () => {
  it.each([
    [0, 7],
    [3, 7],
    [6, 7],
    [2, 4],
  ])('the receipt at seq %i is proven against a checkpoint of size %i', (seq, size) => {
    const checkpoint = { size, root: subtreeRoot(leaves.slice(0, size)) };
    const proof = proveInclusion(leaves, leaves[seq] as Buffer, seq, checkpoint);
    expect(proof).toMatchObject({ leafIndex: seq, treeSize: size, verified: true });
    expect(proof.auditPath.length).toBeGreaterThan(0);
  });

  it('does not verify a leaf other than the one the checkpoint commits to at that seq', () => {
    const checkpoint = { size: 7, root: subtreeRoot(leaves) };
    expect(proveInclusion(leaves, leafHash('{"seq":99}'), 3, checkpoint).verified).toBe(false);
  });

  it('does not verify against another root', () => {
    const checkpoint = { size: 7, root: subtreeRoot(leaves.slice(0, 6)) };
    expect(proveInclusion(leaves, leaves[3] as Buffer, 3, checkpoint).verified).toBe(false);
  });
});
