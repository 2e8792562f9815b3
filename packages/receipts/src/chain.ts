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
  const tree = rangeOf(head);
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
    head: headWithRange(
      { chain: head.chain, size: head.size + 1, head_hash: leafHex, last_timestamp: timestamp },
      tree,
    ),
  };
}

// The compact range behind each head this module made, so appending does not convert it from
// hex and back every time. A head read from storage has none and is parsed once.
const ranges = new WeakMap<ChainHead, CompactRange>();

function rangeOf(head: ChainHead): CompactRange {
  // Cloned: a caller may append to the same head twice (a fork in a test, a retry).
  return (ranges.get(head) ?? CompactRange.fromJSON(head.tree)).clone();
}

/** A head whose `tree` is rendered to hex only when read (persisted, serialised), once. */
function headWithRange(fields: Omit<ChainHead, 'tree'>, range: CompactRange): ChainHead {
  let rendered: ChainHead['tree'] | undefined;
  const head = Object.defineProperty({ ...fields }, 'tree', {
    enumerable: true,
    get: () => (rendered ??= range.toJSON()),
  }) as ChainHead;
  ranges.set(head, range);
  return head;
}
