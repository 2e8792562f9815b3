import { inclusionProof, verifyInclusion } from '@governor/receipts';

/** A receipt's Merkle audit path to a signed checkpoint, and whether it leads to its root. */
export interface InclusionProof {
  readonly leafIndex: number;
  readonly treeSize: number;
  readonly auditPath: readonly Buffer[];
  readonly verified: boolean;
}

/**
 * The inclusion proof of the receipt whose leaf is `leaf`, at `seq`, in the tree of the first
 * `checkpoint.size` of `leaves`. It is checked with the receipt's own leaf, not whatever stands
 * at its position, so a receipt that is not the one the checkpoint commits to does not verify.
 * The caller makes sure the checkpoint covers `seq` and `leaves` holds `checkpoint.size` leaves.
 */
export function proveInclusion(
  leaves: readonly Buffer[],
  leaf: Buffer,
  seq: number,
  checkpoint: { readonly size: number; readonly root: Buffer },
): InclusionProof {
  const auditPath = inclusionProof(leaves, seq, checkpoint.size);
  return {
    leafIndex: seq,
    treeSize: checkpoint.size,
    auditPath,
    verified: verifyInclusion(leaf, seq, checkpoint.size, auditPath, checkpoint.root),
  };
}
