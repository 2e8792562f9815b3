import { setTimeout as sleep } from 'node:timers/promises';
import {
  FieldPath,
  type DocumentReference,
  type Firestore,
  type Timestamp,
  type WriteBatch,
} from '@google-cloud/firestore';
import type { StoredReceipt } from '@governor/contracts';
import {
  actionsOf,
  checkChainId,
  checkEpoch,
  checkFence,
  checkWrites,
  GovernorError,
  planAppend,
  planClaim,
  sameHead,
  storedRecord,
  type ActionLogEntry,
  type LedgerEntry,
  type ReceiptLedger,
} from '@governor/governor';
import { emptyHead, type ChainHead } from '@governor/receipts';
import { FirestoreActionLog, MAX_WRITES_PER_COMMIT } from './firestore-action-log';
import { GrpcCode, grpcCode, ledgerError, ledgerRefused, withDeadline } from './firestore-errors';

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
  /** The chain's fencing epoch (the highest claimed), or null when nobody has claimed it. */
  readonly fence: number | null;
  /** Null when the head document does not exist yet. */
  readonly updateTime: Timestamp | null;
}

const SEQ_DIGITS = 20;
/** How many times `claim` reads and conditionally writes the head before giving up (retryably). */
const CLAIM_ATTEMPTS = 5;
const seqId = (seq: number) => String(seq).padStart(SEQ_DIGITS, '0');

/**
 * The receipt ledger on Firestore (DESIGN.md section 3): `/{chain}/receipts/{seq, 20 digits}`,
 * checkpoints in `/{chain}/checkpoints/{size}`, the head in `/{chain}/ledger/head`, and the
 * chain's action log in `/{chain}/actions/{action_id}` (see FirestoreActionLog).
 *
 * One append is one atomic batch: `create()` of each seq document, `set()` of each action log
 * entry it carries, plus the head, updated only if it is still the head this client last saw
 * (`lastUpdateTime` precondition). A second writer therefore fails instead of forking, and
 * writes none of its action entries, with no read before the write: a group commit is one RPC.
 *
 * Fencing: the head document's `fence` field is the highest epoch any client has claimed the
 * chain under. `claim` reads the head and rewrites `fence` under the same precondition (no
 * transaction: the emulator stalls on contended ones), so the claim itself changes the head
 * document's update time and the previous owner's next append fails its precondition. That
 * append is then refused with LEDGER_FENCED, never retried over the new owner's claim.
 */
export class FirestoreLedger implements ReceiptLedger {
  readonly maxWritesPerAppend = MAX_WRITES_PER_COMMIT;
  private readonly db: Firestore;
  private readonly actions: FirestoreActionLog;
  private readonly deadlineMs: number;
  private readonly pageSize: number;
  private readonly known = new Map<string, KnownHead>();
  /** The epoch this client claimed each chain under; chains it never claimed append unfenced. */
  private readonly claims = new Map<string, number>();

  constructor(private readonly options: FirestoreLedgerOptions) {
    this.db = options.db;
    this.deadlineMs = options.deadlineMs ?? 5_000;
    this.pageSize = options.pageSize ?? 1_000;
    this.actions = new FirestoreActionLog({ db: this.db, deadlineMs: this.deadlineMs });
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
    // A claim before the first receipt creates the head document with an empty head.
    return known.updateTime === null || known.head.size === 0 ? null : known.head;
  }

  private async readHead(chain: string): Promise<KnownHead> {
    const ref = this.headDoc(chain);
    const snapshot = await this.call(`reading the head of ${chain}`, () => ref.get());
    const data = snapshot.data() ?? {};
    const known: KnownHead = snapshot.exists
      ? { head: headFrom(data), fence: fenceFrom(data), updateTime: snapshot.updateTime ?? null }
      : { head: emptyHead(chain), fence: null, updateTime: null };
    this.known.set(chain, known);
    return known;
  }

  async claim(chain: string, epoch: number): Promise<void> {
    checkEpoch(chain, epoch);
    const headRef = this.headDoc(chain);
    for (let attempt = 1; ; attempt++) {
      const known = await this.readHead(chain);
      // Even a refused claim is this client's claim: its appends to the chain are fenced too.
      this.claims.set(chain, epoch);
      const fence = planClaim(chain, known.fence, epoch);
      if (fence === null) return;
      try {
        // Only the fence changes; a missing head document is created as `append` creates it.
        const written = await withDeadline(this.deadlineMs, () =>
          known.updateTime === null
            ? headRef.create({ ...headFields(known.head), fence })
            : headRef.update({ fence }, { lastUpdateTime: known.updateTime }),
        );
        this.known.set(chain, { head: known.head, fence, updateTime: written.writeTime });
        return;
      } catch (e) {
        this.known.delete(chain);
        // Someone wrote the head between the read and the write: read it again.
        if (!isRace(e)) throw ledgerError(`claiming ${chain} at epoch ${epoch}`, e);
        if (attempt >= CLAIM_ATTEMPTS)
          throw new GovernorError(
            'LEDGER_UNAVAILABLE',
            `claiming ${chain} at epoch ${epoch}: the head changed under each of ${attempt} attempts`,
            true,
            { cause: e },
          );
        await sleep(5 * attempt);
      }
    }
  }

  async append(chain: string, entries: readonly LedgerEntry[], head: ChainHead): Promise<void> {
    // Refused here rather than by Firestore (and never by the emulator, which takes more).
    checkWrites(chain, entries, this.maxWritesPerAppend);
    const known = this.known.get(chain) ?? (await this.readHead(chain));
    const claimed = this.claims.get(chain);
    // Checked against the head and fence this client knows; the precondition below makes sure
    // they still are, so the happy path is one RPC.
    checkFence(chain, known.fence, claimed);
    const next = planAppend(known.head, chain, entries, head);
    try {
      await this.commit(chain, entries, known, next, claimed);
    } catch (e) {
      // Whatever happened, this client no longer knows the head: read it again next time.
      this.known.delete(chain);
      if (!isRace(e)) throw ledgerError(`appending to ${chain}`, e);
      // The head document was rewritten (or created). A higher fence is a newer owner's claim.
      // If it still holds the same head and our fence (a restore or an import gives documents
      // new update times; a claim before the first receipt creates the document), nobody else
      // wrote: commit once more on it.
      const fresh = await this.readHead(chain);
      checkFence(chain, fresh.fence, claimed);
      const ours = claimed === undefined || fresh.fence === claimed;
      if (!ours || !sameHead(fresh.head, known.head)) throw ledgerError(`appending to ${chain}`, e);
      try {
        await this.commit(chain, entries, fresh, next, claimed);
      } catch (again) {
        this.known.delete(chain);
        // Lost again: to a newer owner's claim (fenced), or to another writer (conflict).
        const now = isRace(again) ? await this.readHead(chain).catch(() => null) : null;
        if (now) checkFence(chain, now.fence, claimed);
        throw ledgerError(`appending to ${chain}`, again);
      }
    }
  }

  /**
   * One atomic batch: a `create()` per seq, a `set()` per action entry carried, and the head
   * last (its write time is the next precondition), conditional on the head `known`. A client
   * that claimed the chain writes its epoch as the fence (never lower than stored: the fence
   * was checked against `known`, and the precondition holds it there).
   */
  private async commit(
    chain: string,
    entries: readonly LedgerEntry[],
    known: KnownHead,
    next: ChainHead,
    claimed: number | undefined,
  ) {
    const receipts = this.chainDoc(chain).collection('receipts');
    const batch: WriteBatch = this.db.batch();
    for (const entry of entries)
      batch.create(receipts.doc(seqId(entry.seq)), { seq: entry.seq, ...storedRecord(entry.record) });
    this.actions.setIn(batch, this.chainDoc(chain), actionsOf(entries));
    const headRef = this.headDoc(chain);
    const fence = claimed === undefined ? known.fence : Math.max(claimed, known.fence ?? claimed);
    const fields = { ...headFields(next), ...(claimed === undefined ? {} : { fence }) };
    if (known.updateTime === null) batch.create(headRef, fields);
    else batch.update(headRef, fields, { lastUpdateTime: known.updateTime });
    const results = await withDeadline(this.deadlineMs, () => batch.commit());
    this.known.set(chain, { head: next, fence, updateTime: results[results.length - 1]?.writeTime ?? null });
  }

  // Async, so a bad chain id rejects rather than throws.
  async startActions(chain: string, entries: readonly ActionLogEntry[]): Promise<boolean[]> {
    return this.actions.start(chain, this.chainDoc(chain), entries);
  }

  async putActions(chain: string, entries: readonly ActionLogEntry[]): Promise<void> {
    return this.actions.put(chain, this.chainDoc(chain), entries);
  }

  async runningActions(chain: string): Promise<ActionLogEntry[]> {
    return this.actions.running(chain, this.chainDoc(chain));
  }

  async actionsStartedSince(chain: string, since: number): Promise<number> {
    return this.actions.startedSince(chain, this.chainDoc(chain), since);
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
      throw ledgerRefused(`checkpoint of ${chain}`, `size ${size} is not a size`);
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

/** A head document's fence, or null for a chain nobody has claimed. */
function fenceFrom(data: Record<string, unknown>): number | null {
  return typeof data.fence === 'number' && Number.isSafeInteger(data.fence) ? data.fence : null;
}

/** The write lost a race on the head document: it changed (precondition) or appeared (create). */
function isRace(error: unknown): boolean {
  const code = grpcCode(error);
  return code === GrpcCode.FAILED_PRECONDITION || code === GrpcCode.ALREADY_EXISTS;
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
