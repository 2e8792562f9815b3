import { setTimeout as sleep } from 'node:timers/promises';
import type { CollectionReference, DocumentReference, Firestore, WriteBatch } from '@google-cloud/firestore';
import { GovernorError, planStartActions, type ActionLogEntry } from '@governor/governor';
import { GrpcCode, grpcCode, ledgerError, withDeadline } from './firestore-errors';

/** Firestore takes at most 500 writes in one commit. */
export const MAX_WRITES_PER_COMMIT = 500;
/** How many times `start` reads and creates before giving up (retryably) on racing writers. */
const START_ATTEMPTS = 5;

const ACTION_FIELDS = [
  'action_id',
  'kind',
  'signal_id',
  'state',
  'deadline_at',
  'recoverable',
  'started_at',
  'started_seq',
] as const;

/**
 * A document id for any action id. Ids come from signal ids (any non-empty string) and
 * Firestore forbids `/`, the names `.` and `..`, and `__x__`: percent-encode those characters.
 */
export function actionDocId(actionId: string): string {
  return encodeURIComponent(actionId).replace(/\./g, '%2E').replace(/_/g, '%5F');
}

/** The fields of an entry as stored (Firestore refuses `undefined` values). */
export function actionFields(entry: ActionLogEntry): Record<string, unknown> {
  const data = entry as unknown as Record<string, unknown>;
  return Object.fromEntries(ACTION_FIELDS.filter((f) => data[f] !== undefined).map((f) => [f, data[f]]));
}

function actionFrom(data: Record<string, unknown>): ActionLogEntry {
  return Object.fromEntries(
    ACTION_FIELDS.filter((f) => f in data).map((f) => [f, data[f]]),
  ) as unknown as ActionLogEntry;
}

/**
 * The last entry of each action id, in order: a batch writes each document once, and the
 * latest state is the one the log keeps.
 */
export function latestPerAction(entries: readonly ActionLogEntry[]): ActionLogEntry[] {
  return [...new Map(entries.map((e) => [e.action_id, e])).values()];
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * A chain's action log on Firestore: `/{chain}/actions/{action_id, encoded}`, beside its
 * receipts. The ledger owns the chain document (and checks its id) and hands it in; entries
 * that ride in an append are written by the ledger's own batch (`setIn`).
 */
export class FirestoreActionLog {
  private readonly db: Firestore;
  private readonly deadlineMs: number;

  constructor(options: { readonly db: Firestore; readonly deadlineMs: number }) {
    this.db = options.db;
    this.deadlineMs = options.deadlineMs;
  }

  private call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return withDeadline(this.deadlineMs, fn).catch((e: unknown) => {
      throw ledgerError(what, e);
    });
  }

  private ref(chainDoc: DocumentReference, actionId: string): DocumentReference {
    return this.collection(chainDoc).doc(actionDocId(actionId));
  }

  /** Adds a write of each entry to `batch` (one per action id: the last one). */
  setIn(batch: WriteBatch, chainDoc: DocumentReference, entries: readonly ActionLogEntry[]): void {
    for (const entry of latestPerAction(entries))
      batch.set(this.ref(chainDoc, entry.action_id), actionFields(entry));
  }

  /**
   * Reads which ids exist (one `getAll`), then creates the others in one commit. A batch of
   * `create`s is all or nothing, so a racing writer that created one of them first fails the
   * whole commit with ALREADY_EXISTS: read again and create what is still missing.
   */
  async start(
    chain: string,
    chainDoc: DocumentReference,
    entries: readonly ActionLogEntry[],
  ): Promise<boolean[]> {
    if (entries.length === 0) return [];
    const what = `starting ${entries.length} actions of ${chain}`;
    // Ids this call has created already (in an earlier chunk): not another writer's.
    const mine = new Set<string>();
    for (let attempt = 1; ; attempt++) {
      const unread = [...new Set(entries.map((e) => e.action_id))].filter((id) => !mine.has(id));
      const refs = unread.map((id) => this.ref(chainDoc, id));
      const snapshots = refs.length === 0 ? [] : await this.call(what, () => this.db.getAll(...refs));
      const stored = new Set(unread.filter((_, i) => snapshots[i]?.exists === true));
      const created = planStartActions(entries, (id) => stored.has(id));
      const todo = entries.filter((e, i) => created[i] === true && !mine.has(e.action_id));
      try {
        for (const chunk of chunks(todo, MAX_WRITES_PER_COMMIT)) {
          const batch = this.db.batch();
          for (const entry of chunk) batch.create(this.ref(chainDoc, entry.action_id), actionFields(entry));
          await withDeadline(this.deadlineMs, () => batch.commit());
          for (const entry of chunk) mine.add(entry.action_id);
        }
        return created;
      } catch (e) {
        if (grpcCode(e) !== GrpcCode.ALREADY_EXISTS) throw ledgerError(what, e);
        if (attempt >= START_ATTEMPTS)
          throw new GovernorError(
            'LEDGER_UNAVAILABLE',
            `${what}: another writer created one of them under each of ${attempt} attempts`,
            true,
            { cause: e },
          );
        await sleep(5 * attempt);
      }
    }
  }

  /** Writes each entry as it is, in one commit (one per 500 entries past that). */
  async put(chain: string, chainDoc: DocumentReference, entries: readonly ActionLogEntry[]): Promise<void> {
    for (const chunk of chunks(latestPerAction(entries), MAX_WRITES_PER_COMMIT)) {
      const batch = this.db.batch();
      this.setIn(batch, chainDoc, chunk);
      await this.call(`storing ${chunk.length} actions of ${chain}`, () => batch.commit());
    }
  }

  async running(chain: string, chainDoc: DocumentReference): Promise<ActionLogEntry[]> {
    const query = this.collection(chainDoc).where('state', '==', 'running');
    const snapshot = await this.call(`reading the action log of ${chain}`, () => query.get());
    return snapshot.docs.map((d) => actionFrom(d.data()));
  }

  /** A count aggregation over the `started_at` index: no documents are read. */
  async startedSince(chain: string, chainDoc: DocumentReference, since: number): Promise<number> {
    const query = this.collection(chainDoc).where('started_at', '>=', since).count();
    const snapshot = await this.call(`counting the actions of ${chain}`, () => query.get());
    return snapshot.data().count;
  }

  private collection(chainDoc: DocumentReference): CollectionReference {
    return chainDoc.collection('actions');
  }
}
