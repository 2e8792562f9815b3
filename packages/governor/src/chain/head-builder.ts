import type { StoredReceipt } from '@governor/contracts';
import { CompactRange, leafHash, type ChainHead } from '@governor/receipts';

/** Why a record cannot be the next one of a chain: it links elsewhere, or it is not well formed. */
export interface LinkProblem {
  readonly kind: 'link' | 'malformed';
  readonly detail: string;
}

/**
 * Re-derives a chain head record by record, as the ledger stores them: checks that each body
 * is the next seq of this chain, links to the previous leaf, and hashes to its `leaf_hash`.
 * It does not check signatures (the ledger holds no keys; verifiers do).
 */
export class HeadBuilder {
  private count: number;
  private headHash: string;
  private lastTimestamp: string | null;
  private readonly tree: CompactRange;

  constructor(private readonly start: ChainHead) {
    this.count = start.size;
    this.headHash = start.head_hash;
    this.lastTimestamp = start.last_timestamp;
    this.tree = CompactRange.fromJSON(start.tree);
  }

  /** Adds `record` if it continues the chain; otherwise leaves the builder unchanged. */
  push(record: StoredReceipt): LinkProblem | null {
    let body: unknown;
    try {
      body = JSON.parse(record.body);
    } catch {
      return { kind: 'malformed', detail: `receipt ${this.count}: body is not JSON` };
    }
    const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    if (b.seq !== this.count)
      return { kind: 'malformed', detail: `expected seq ${this.count}, body has ${JSON.stringify(b.seq)}` };
    if (b.chain !== this.start.chain)
      return { kind: 'malformed', detail: `seq ${this.count}: body names chain ${JSON.stringify(b.chain)}` };
    if (typeof b.timestamp !== 'string')
      return { kind: 'malformed', detail: `seq ${this.count}: body has no timestamp` };
    if (b.prev_hash !== this.headHash)
      return {
        kind: 'link',
        detail: `seq ${this.count}: prev_hash does not match the head hash ${this.headHash}`,
      };
    const leaf = leafHash(record.body);
    if (leaf.toString('hex') !== record.leaf_hash)
      return { kind: 'malformed', detail: `seq ${this.count}: leaf_hash is not the hash of its body` };
    this.tree.append(leaf);
    this.count += 1;
    this.headHash = record.leaf_hash;
    this.lastTimestamp = b.timestamp;
    return null;
  }

  /** Receipts in the chain so far, which is also the next seq. */
  get size(): number {
    return this.count;
  }

  get head(): ChainHead {
    return {
      chain: this.start.chain,
      size: this.count,
      head_hash: this.headHash,
      last_timestamp: this.lastTimestamp,
      tree: this.tree.toJSON(),
    };
  }
}

/** Whether two heads describe the same chain state, tree included. */
export function sameHead(a: ChainHead, b: ChainHead): boolean {
  return (
    a.chain === b.chain &&
    a.size === b.size &&
    a.head_hash === b.head_hash &&
    a.last_timestamp === b.last_timestamp &&
    a.tree.size === b.tree.size &&
    a.tree.roots.length === b.tree.roots.length &&
    a.tree.roots.every((root, i) => root === b.tree.roots[i])
  );
}
