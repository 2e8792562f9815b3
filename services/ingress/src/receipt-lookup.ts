import type { StoredReceipt } from '@governor/contracts';
import type { ReceiptLedger } from '@governor/governor';
import {
  ChainVerifier,
  checkpointSignatureProblem,
  formatIssue,
  leafHash,
  parseCheckpoint,
  type Keyring,
} from '@governor/receipts';
import { proveInclusion } from '@governor/stores';

/** One stored record as an export line: exactly the stored fields, the body bytes untouched. */
export function exportLine(record: StoredReceipt): string {
  return JSON.stringify({
    body: record.body,
    leaf_hash: record.leaf_hash,
    signature: record.signature,
    key_id: record.key_id,
  });
}

export interface ReceiptLookup {
  readonly receipt: unknown;
  readonly stored: StoredReceipt;
  readonly verification: {
    readonly ok: boolean;
    /** The chain from genesis up to and including this receipt, verified in full. */
    readonly verified_through_seq: number;
    readonly issues: readonly string[];
  };
  readonly inclusion_proof: {
    readonly leaf_index: number;
    readonly leaf_hash: string;
    readonly tree_size: number;
    readonly root: string;
    readonly audit_path: readonly string[];
    readonly verified: boolean;
    readonly checkpoint: string;
  } | null;
  /** Why there is no inclusion proof yet, when there is none. */
  readonly inclusion_note?: string;
}

/**
 * Finds a receipt on its chain and proves it: the chain from genesis through the receipt is
 * verified in full (hashes, links, signatures, keys), and an inclusion proof is built against
 * the latest signed checkpoint that covers it.
 */
export async function lookupReceipt(
  ledger: ReceiptLedger,
  chain: string,
  receiptId: string,
  keyring: Keyring,
  checkpointText: string | null,
): Promise<ReceiptLookup | null> {
  const leaves: Buffer[] = [];
  let found: { record: StoredReceipt; seq: number } | null = null;
  const verifier = new ChainVerifier({ keyring, expectedChain: chain, threads: 0 });
  for await (const record of ledger.read(chain)) {
    const seq = leaves.length;
    leaves.push(leafHash(record.body));
    if (found === null) {
      await verifier.push(exportLine(record));
      if ((JSON.parse(record.body) as { receipt_id?: unknown }).receipt_id === receiptId)
        found = { record, seq };
    }
  }
  if (found === null) return null;
  const report = await verifier.finish();
  const leaf = leaves[found.seq] as Buffer;

  let inclusion: ReceiptLookup['inclusion_proof'] = null;
  let note: string | undefined;
  if (checkpointText === null) note = 'the chain has no checkpoint yet';
  else {
    const cp = parseCheckpoint(checkpointText);
    const trust = checkpointSignatureProblem(cp, keyring);
    const size = cp.checkpoint.size;
    if (trust !== null) note = `the latest checkpoint does not verify: ${trust}`;
    else if (found.seq >= size)
      note = `the latest checkpoint covers seq 0..${size - 1}; this receipt is newer`;
    else if (size > leaves.length)
      note = `the checkpoint covers ${size} receipts, the store has ${leaves.length}`;
    else {
      const proof = proveInclusion(leaves, leaf, found.seq, cp.checkpoint);
      inclusion = {
        leaf_index: proof.leafIndex,
        leaf_hash: leaf.toString('hex'),
        tree_size: proof.treeSize,
        root: cp.checkpoint.root.toString('base64'),
        audit_path: proof.auditPath.map((p) => p.toString('hex')),
        verified: proof.verified,
        checkpoint: checkpointText,
      };
    }
  }
  return {
    receipt: JSON.parse(found.record.body) as unknown,
    stored: found.record,
    verification: {
      ok: report.ok,
      verified_through_seq: found.seq,
      issues: report.issues.map(formatIssue),
    },
    inclusion_proof: inclusion,
    ...(note !== undefined ? { inclusion_note: note } : {}),
  };
}
