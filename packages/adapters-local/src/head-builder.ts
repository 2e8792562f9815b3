import type { StoredReceipt } from '@governor/contracts';
import type { LedgerEntry } from '@governor/governor';
import { CompactRange, leafHash, type ChainHead } from '@governor/receipts';
import { conflict, fenced, invalidArgument } from './errors';

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

/**
 * Checks a batch against the stored head and returns the head after it (equal to `claimed`).
 * A batch that does not continue the stored head is a LEDGER_CONFLICT: another writer got there
 * first. A batch that is wrong in itself is an INVALID_ARGUMENT: retrying it cannot help.
 */
export function planAppend(
  stored: ChainHead,
  chain: string,
  entries: readonly LedgerEntry[],
  claimed: ChainHead,
): ChainHead {
  if (claimed.chain !== chain)
    throw invalidArgument(`a head of ${claimed.chain} cannot be stored for ${chain}`);
  const first = entries[0];
  if (first === undefined) throw invalidArgument(`empty batch for ${chain}`);
  if (first.seq !== stored.size) {
    throw conflict(
      `${chain}: batch starts at seq ${first.seq} but the stored chain has ${stored.size} receipts (another writer?)`,
    );
  }
  const builder = new HeadBuilder(stored);
  for (const [i, entry] of entries.entries()) {
    if (entry.seq !== stored.size + i)
      throw invalidArgument(`${chain}: batch seqs are not contiguous at seq ${stored.size + i}`);
    const problem = builder.push(entry.record);
    if (problem === null) continue;
    if (i === 0 && problem.kind === 'link')
      throw conflict(`${chain}: batch does not continue the stored head: ${problem.detail}`);
    throw invalidArgument(`${chain}: ${problem.detail}`);
  }
  const next = builder.head;
  if (!sameHead(next, claimed))
    throw invalidArgument(`${chain}: the head given with the batch is not the head after its entries`);
  return next;
}

/** Throws the ledger's INVALID_ARGUMENT error unless `epoch` is a non-negative safe integer. */
export function checkEpoch(chain: string, epoch: number): void {
  if (!Number.isSafeInteger(epoch) || epoch < 0)
    throw invalidArgument(`${chain}: fencing epoch ${epoch} is not a non-negative integer`);
}

/**
 * What a `claim(chain, epoch)` does to the stored fence (null: none yet): the fence to store, or
 * null when `epoch` is the stored one already (a no-op). A stored fence above `epoch` means a
 * newer owner has claimed the chain: LEDGER_FENCED. An epoch that is not a non-negative safe
 * integer is an invalid argument.
 */
export function planClaim(chain: string, stored: number | null, epoch: number): number | null {
  checkEpoch(chain, epoch);
  if (stored !== null && stored > epoch)
    throw fenced(
      `${chain}: cannot claim epoch ${epoch}, the chain is claimed at epoch ${stored} (a newer owner)`,
    );
  return stored === epoch ? null : epoch;
}

/**
 * Checks an append against the stored fence: a client that claimed the chain at `claimed`
 * (undefined: never claimed, unfenced) is refused with LEDGER_FENCED once a higher epoch is
 * stored. Must run in the same atomic step as the write it guards.
 */
export function checkFence(chain: string, stored: number | null, claimed: number | undefined): void {
  if (claimed !== undefined && stored !== null && stored > claimed)
    throw fenced(
      `${chain}: this writer claimed epoch ${claimed} but the chain is now claimed at epoch ${stored} (lease lost): nothing written`,
    );
}
