import {
  FieldPath,
  type DocumentReference,
  type Firestore,
  type Timestamp,
  type WriteBatch,
} from '@google-cloud/firestore';
import type { StoredReceipt } from '@governor/contracts';
import type { LedgerEntry, ReceiptLedger } from '@governor/governor';
import { checkChainId, planAppend, sameHead, storedRecord } from '@governor/adapters-local';
import { emptyHead, type ChainHead } from '@governor/receipts';
import { GrpcCode, grpcCode, ledgerError, withDeadline } from './firestore-errors';

export interface FirestoreLedgerOptions {
  readonly db: Firestore;
  /** Whose health document the probe writes (`/health/{worker_id}`). */
  readonly workerId: string;
  /** How long one call may take before the store counts as unavailable. Default 5 s. */
  readonly deadlineMs?: number;
  /** Receipts per page when reading a chain. Default 1,000. */
  readonly pageSize?: number;
}

/** The head as last read or written by this client, with the head document's update time. */
interface KnownHead {
  readonly head: ChainHead;
  /** Null when the head document does not exist yet. */
  readonly updateTime: Timestamp | null;
}

const SEQ_DIGITS = 20;
const seqId = (seq: number) => String(seq).padStart(SEQ_DIGITS, '0');

/**
 * The receipt ledger on Firestore (DESIGN.md section 3): `/{chain}/receipts/{seq, 20 digits}`,
 * checkpoints in `/{chain}/checkpoints/{size}`, the head in `/{chain}/ledger/head`.
 *
 * One append is one atomic batch: `create()` of each seq document plus the head, updated only
 * if it is still the head this client last saw (`lastUpdateTime` precondition). A second writer
 * therefore fails instead of forking, with no read before the write: a group commit is one RPC.
 */
export class FirestoreLedger implements ReceiptLedger {
  private readonly db: Firestore;
  private readonly deadlineMs: number;
  private readonly pageSize: number;
  private readonly known = new Map<string, KnownHead>();

  constructor(private readonly options: FirestoreLedgerOptions) {
    this.db = options.db;
    this.deadlineMs = options.deadlineMs ?? 5_000;
    this.pageSize = options.pageSize ?? 1_000;
  }

  private chainDoc(chain: string): DocumentReference {
    checkChainId(chain);
    return this.db.doc(chain);
  }

  private headDoc(chain: string): DocumentReference {
    return this.chainDoc(chain).collection('ledger').doc('head');
  }

  private call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return withDeadline(this.deadlineMs, fn).catch((e: unknown) => {
      throw ledgerError(what, e);
    });
  }

  async head(chain: string): Promise<ChainHead | null> {
    const known = await this.readHead(chain);
    return known.updateTime === null ? null : known.head;
  }

  private async readHead(chain: string): Promise<KnownHead> {
    const ref = this.headDoc(chain);
    const snapshot = await this.call(`reading the head of ${chain}`, () => ref.get());
    const known: KnownHead = snapshot.exists
      ? { head: headFrom(snapshot.data() ?? {}), updateTime: snapshot.updateTime ?? null }
      : { head: emptyHead(chain), updateTime: null };
    this.known.set(chain, known);
    return known;
  }

  async append(chain: string, entries: readonly LedgerEntry[], head: ChainHead): Promise<void> {
    const known = this.known.get(chain) ?? (await this.readHead(chain));
    // Checked against the head this client knows; the precondition below makes sure it still is.
    const next = planAppend(known.head, chain, entries, head);
    try {
      await this.commit(chain, entries, known, next);
    } catch (e) {
      // Whatever happened, this client no longer knows the head: read it again next time.
      this.known.delete(chain);
      if (grpcCode(e) !== GrpcCode.FAILED_PRECONDITION) throw ledgerError(`appending to ${chain}`, e);
      // The head document was rewritten. If it still holds the same head (a restore or an
      // import gives documents new update times), nobody else wrote: commit once more on it.
      const fresh = await this.readHead(chain);
      if (!sameHead(fresh.head, known.head)) throw ledgerError(`appending to ${chain}`, e);
      await this.commit(chain, entries, fresh, next).catch((again: unknown) => {
        this.known.delete(chain);
        throw ledgerError(`appending to ${chain}`, again);
      });
    }
  }

  /** One atomic batch: a `create()` per seq and the head, conditional on the head `known`. */
  private async commit(chain: string, entries: readonly LedgerEntry[], known: KnownHead, next: ChainHead) {
    const receipts = this.chainDoc(chain).collection('receipts');
    const batch: WriteBatch = this.db.batch();
    for (const entry of entries)
      batch.create(receipts.doc(seqId(entry.seq)), { seq: entry.seq, ...storedRecord(entry.record) });
    const headRef = this.headDoc(chain);
    if (known.updateTime === null) batch.create(headRef, headFields(next));
    else batch.update(headRef, headFields(next), { lastUpdateTime: known.updateTime });
    const results = await withDeadline(this.deadlineMs, () => batch.commit());
    this.known.set(chain, { head: next, updateTime: results[results.length - 1]?.writeTime ?? null });
  }

  async *read(
    chain: string,
    options: { afterSeq?: number; limit?: number } = {},
  ): AsyncIterable<StoredReceipt> {
    const receipts = this.chainDoc(chain).collection('receipts');
    let after = options.afterSeq ?? -1;
    let left = options.limit ?? Number.POSITIVE_INFINITY;
    while (left > 0) {
      const page = Math.min(this.pageSize, left);
      let query = receipts.orderBy(FieldPath.documentId()).limit(page);
      if (after >= 0) query = query.startAfter(seqId(after));
      const snapshot = await this.call(`reading ${chain} after seq ${after}`, () => query.get());
      for (const doc of snapshot.docs) {
        const data = doc.data();
        yield storedRecord({
          body: String(data.body),
          leaf_hash: String(data.leaf_hash),
          signature: String(data.signature),
          key_id: String(data.key_id),
        });
      }
      if (snapshot.size < page) return;
      after += snapshot.size;
      left -= snapshot.size;
    }
  }

  async putCheckpoint(chain: string, size: number, note: string): Promise<void> {
    if (!Number.isSafeInteger(size) || size < 0)
      throw ledgerError(
        `checkpoint of ${chain}`,
        Object.assign(new Error(`size ${size} is not a size`), { code: 3 }),
      );
    const ref = this.chainDoc(chain).collection('checkpoints').doc(String(size));
    await this.call(`storing the checkpoint of ${chain} at ${size}`, () => ref.set({ size, note }));
  }

  async latestCheckpoint(chain: string): Promise<string | null> {
    const query = this.chainDoc(chain).collection('checkpoints').orderBy('size', 'desc').limit(1);
    const snapshot = await this.call(`reading the latest checkpoint of ${chain}`, () => query.get());
    const note = snapshot.docs[0]?.get('note') as unknown;
    return typeof note === 'string' ? note : null;
  }

  /** Writes `/health/{worker_id}` and reads it back: both directions of the store must work. */
  async probe(): Promise<void> {
    const ref = this.db.collection('health').doc(this.options.workerId);
    const token = `${Date.now()}-${Math.random().toString(36).slice(2)}`;
    await this.call('probing Firestore (write)', () => ref.set({ token, at: new Date() }));
    const read = await this.call('probing Firestore (read)', () => ref.get());
    if (read.get('token') !== token)
      throw ledgerError(
        'probing Firestore',
        new Error('the health document read back is not the one written'),
      );
  }
}

function headFields(head: ChainHead): Record<string, unknown> {
  return {
    chain: head.chain,
    size: head.size,
    head_hash: head.head_hash,
    last_timestamp: head.last_timestamp,
    tree: { size: head.tree.size, roots: [...head.tree.roots] },
  };
}

function headFrom(data: Record<string, unknown>): ChainHead {
  const tree = (data.tree ?? {}) as { size?: unknown; roots?: unknown };
  return {
    chain: String(data.chain),
    size: Number(data.size),
    head_hash: String(data.head_hash),
    last_timestamp: typeof data.last_timestamp === 'string' ? data.last_timestamp : null,
    tree: { size: Number(tree.size), roots: Array.isArray(tree.roots) ? tree.roots.map(String) : [] },
  };
}
