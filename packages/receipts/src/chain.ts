import { randomUUID } from 'node:crypto';
import { ReceiptBody, type ReceiptFields, type StoredReceipt } from '@governor/contracts';
import { canonicalize } from './canonical';
import { ReceiptsError } from './errors';
import { genesisHash, leafHash } from './hash';
import type { SigningKey } from './keys';
import { CompactRange } from './merkle';
import { pae, RECEIPT_PAYLOAD_TYPE } from './signature';

/** Everything needed to append the next receipt of a chain, and nothing more. */
export interface ChainHead {
  readonly chain: string;
  /** Number of receipts so far, which is also the next seq. */
  readonly size: number;
  /** Leaf hash of the last receipt (hex), or the chain's genesis hash when empty. */
  readonly head_hash: string;
  readonly last_timestamp: string | null;
  /** Merkle compact range over all leaf hashes, for checkpoints without re-reading the chain. */
  readonly tree: { size: number; roots: string[] };
}

export function emptyHead(chain: string): ChainHead {
  return {
    chain,
    size: 0,
    head_hash: genesisHash(chain),
    last_timestamp: null,
    tree: CompactRange.empty().toJSON(),
  };
}

export interface AppendOptions {
  readonly now: Date;
  readonly receiptId?: string;
}

export interface Appended {
  readonly record: StoredReceipt;
  readonly body: ReceiptBody;
  readonly head: ChainHead;
}

/**
 * Appends one receipt: fills the envelope (seq, prev_hash, timestamp, key_id), validates the
 * whole body against its operation's schema, canonicalises, hashes and signs. Pure apart from
 * the signature; the caller persists the record and the returned head together.
 */
export function appendReceipt(
  head: ChainHead,
  fields: ReceiptFields,
  signer: SigningKey,
  options: AppendOptions,
): Appended {
  // A clock that steps back must not produce a TIMESTAMP_REGRESSION in the chain.
  const nowIso = options.now.toISOString();
  const timestamp =
    head.last_timestamp !== null && head.last_timestamp > nowIso ? head.last_timestamp : nowIso;
  const candidate = {
    ...fields,
    v: 1,
    receipt_id: options.receiptId ?? randomUUID(),
    chain: head.chain,
    seq: head.size,
    prev_hash: head.head_hash,
    timestamp,
    key_id: signer.keyId,
  };
  const parsed = ReceiptBody.safeParse(candidate);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ReceiptsError(
      'INVALID_RECEIPT',
      `${fields.operation} receipt for ${head.chain} is invalid: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`.trim(),
      { cause: parsed.error },
    );
  }
  const body = canonicalize(candidate);
  const leaf = leafHash(body);
  const tree = CompactRange.fromJSON(head.tree);
  tree.append(leaf);
  const leafHex = leaf.toString('hex');
  return {
    record: {
      body,
      leaf_hash: leafHex,
      signature: signer.sign(pae(RECEIPT_PAYLOAD_TYPE, body)).toString('base64'),
      key_id: signer.keyId,
    },
    body: parsed.data,
    head: {
      chain: head.chain,
      size: head.size + 1,
      head_hash: leafHex,
      last_timestamp: timestamp,
      tree: tree.toJSON(),
    },
  };
}
