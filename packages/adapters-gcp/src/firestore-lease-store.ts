import type {
  CollectionReference,
  DocumentReference,
  DocumentSnapshot,
  Firestore,
} from '@google-cloud/firestore';
import {
  checkLease,
  checkLeaseArgs,
  GovernorError,
  planAcquire,
  planRelease,
  planRenew,
  systemClock,
  type Clock,
  type Lease,
  type LeaseStore,
} from '@governor/governor';
import { GrpcCode, grpcCode, leaseError, withDeadline } from './firestore-errors';

export interface FirestoreLeaseStoreOptions {
  readonly db: Firestore;
  /** How long one call may take before the store counts as unavailable. Default 5 s. */
  readonly deadlineMs?: number;
  /**
   * The time leases and heartbeats are written and judged by. Default: this process's clock
   * (Date.now), so the workers sharing a store must keep their clocks roughly in sync (NTP),
   * and a holder must treat its lease as lost a safety margin before `expires_at`.
   */
  readonly clock?: Pick<Clock, 'now'>;
}

/** Write attempts per call: each after a fresh read, when the last one lost a race. */
const ATTEMPTS = 3;

/** The most writes Firestore takes in one commit. */
const MAX_WRITES_PER_COMMIT = 500;

/** The lease as it was read, with the update time its write is conditional on. */
interface Read {
  readonly lease: Lease | null;
  readonly snapshot: DocumentSnapshot;
}

/**
 * Leases on Firestore (DESIGN.md section 3): `/leases/{account_id}` holds
 * `{ holder, epoch, expires_at }`, `/members/{worker_id}` holds `{ expires_at }` (epoch ms).
 *
 * Every change is a compare-and-set without a transaction (the emulator stalls for ~30 s on
 * contended transactions): read the document, then `create()` it when absent or `update()` it
 * on the condition that it is still the version read (`lastUpdateTime`). Of racing writers
 * exactly one succeeds; the others see ALREADY_EXISTS or FAILED_PRECONDITION, read again and
 * answer from what they find (null when another holder's lease is live).
 *
 * Time is the writing client's clock (see `clock`). A call that times out (`deadlineMs`) may
 * still land later: an acquire that failed that way can leave the lease held by its caller
 * until it expires, which only delays the tenant, and the same holder's next acquire renews it.
 */
export class FirestoreLeaseStore implements LeaseStore {
  private readonly db: Firestore;
  private readonly deadlineMs: number;
  private readonly clock: Pick<Clock, 'now'>;

  constructor(options: FirestoreLeaseStoreOptions) {
    this.db = options.db;
    this.deadlineMs = options.deadlineMs ?? 5_000;
    this.clock = options.clock ?? systemClock;
  }

  private get leases(): CollectionReference {
    return this.db.collection('leases');
  }

  private get membersCollection(): CollectionReference {
    return this.db.collection('members');
  }

  private call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return withDeadline(this.deadlineMs, fn).catch((e: unknown) => {
      throw leaseError(what, e);
    });
  }

  async acquire(accountId: string, holder: string, ttlMs: number): Promise<Lease | null> {
    checkLeaseArgs({ accountId, workerId: holder, ttlMs });
    return await this.compareAndSet(
      `acquiring the lease of ${accountId} for ${holder}`,
      accountId,
      (current, now) => planAcquire(current, { accountId, holder, ttlMs }, now),
    );
  }

  async renew(lease: Lease, ttlMs: number): Promise<Lease | null> {
    checkLease(lease);
    checkLeaseArgs({ ttlMs });
    return await this.compareAndSet(
      `renewing the lease of ${lease.account_id} (epoch ${lease.epoch})`,
      lease.account_id,
      (current, now) => planRenew(current, lease, ttlMs, now),
    );
  }

  /**
   * One `getAll` and one commit per 500 leases, the chunks in parallel. The commit is a batch of
   * updates each conditional on the version read, not a transaction (see above): it is atomic,
   * so one lease written in between fails the whole chunk, which is then read and planned again;
   * the lease that changed hands now plans null and is left out of the next commit.
   */
  async renewAll(leases: readonly Lease[], ttlMs: number): Promise<(Lease | null)[]> {
    leases.forEach(checkLease);
    checkLeaseArgs({ ttlMs });
    const chunks: Lease[][] = [];
    for (let i = 0; i < leases.length; i += MAX_WRITES_PER_COMMIT)
      chunks.push(leases.slice(i, i + MAX_WRITES_PER_COMMIT));
    const answers = await Promise.all(chunks.map((chunk) => this.renewChunk(chunk, ttlMs)));
    return answers.flat();
  }

  private async renewChunk(leases: readonly Lease[], ttlMs: number): Promise<(Lease | null)[]> {
    const what = `renewing ${leases.length} leases (${leases[0]?.account_id ?? ''}…)`;
    const answers: (Lease | null)[] = leases.map(() => null);
    // The leases still to write: all at first, then those of a commit that lost a race.
    let pending = leases.map((_, i) => i);
    for (let attempt = 1; ; attempt += 1) {
      const refs = pending.map((i) => this.leases.doc(leases[i]!.account_id));
      const snapshots = await this.call(what, () => this.db.getAll(...refs));
      const now = this.clock.now();
      const batch = this.db.batch();
      const written: number[] = [];
      snapshots.forEach((snapshot, k) => {
        const i = pending[k]!;
        const data = snapshot.data();
        const current = snapshot.exists && data ? leaseFrom(snapshot.id, data) : null;
        const next = planRenew(current, leases[i]!, ttlMs, now);
        answers[i] = next;
        if (next === null || snapshot.updateTime === undefined) return;
        batch.update(snapshot.ref, fieldsOf(next), { lastUpdateTime: snapshot.updateTime });
        written.push(i);
      });
      if (written.length === 0) return answers;
      try {
        await withDeadline(this.deadlineMs, () => batch.commit());
        return answers;
      } catch (e) {
        if (!lostRace(e)) throw leaseError(what, e);
        if (attempt >= ATTEMPTS)
          throw new GovernorError(
            'LEASE_UNAVAILABLE',
            `${what}: a lease changed under each of ${ATTEMPTS} attempts`,
            true,
            { cause: e },
          );
        pending = written;
      }
    }
  }

  async release(lease: Lease): Promise<void> {
    checkLease(lease);
    await this.compareAndSet(
      `releasing the lease of ${lease.account_id} (epoch ${lease.epoch})`,
      lease.account_id,
      (current) => planRelease(current, lease),
    );
  }

  async list(): Promise<Lease[]> {
    const snapshot = await this.call('listing leases', () => this.leases.get());
    return snapshot.docs.map((doc) => leaseFrom(doc.id, doc.data()));
  }

  async heartbeat(workerId: string, ttlMs: number): Promise<void> {
    checkLeaseArgs({ workerId, ttlMs });
    const ref = this.membersCollection.doc(workerId);
    const expires_at = this.clock.now() + ttlMs;
    await this.call(`heartbeat of ${workerId}`, () => ref.set({ expires_at }));
  }

  async leave(workerId: string): Promise<void> {
    checkLeaseArgs({ workerId });
    const ref = this.membersCollection.doc(workerId);
    await this.call(`${workerId} leaving the members`, () => ref.delete());
  }

  async members(): Promise<string[]> {
    const now = this.clock.now();
    const query = this.membersCollection.where('expires_at', '>', now);
    const snapshot = await this.call('listing members', () => query.get());
    return snapshot.docs.map((doc) => doc.id).sort();
  }

  /**
   * Reads the lease, asks `plan` what to write (null: nothing, and the answer is null), and
   * writes it only if the document is still what was read. Losing that race means another
   * client wrote in between: read again and plan from what it wrote.
   */
  private async compareAndSet(
    what: string,
    accountId: string,
    plan: (current: Lease | null, now: number) => Lease | null,
  ): Promise<Lease | null> {
    const ref = this.leases.doc(accountId);
    for (let attempt = 1; ; attempt += 1) {
      const read = await this.read(what, ref);
      const next = plan(read.lease, this.clock.now());
      if (next === null) return null;
      try {
        await this.write(ref, read, next);
        return next;
      } catch (e) {
        if (!lostRace(e)) throw leaseError(what, e);
        if (attempt >= ATTEMPTS)
          throw new GovernorError(
            'LEASE_UNAVAILABLE',
            `${what}: the lease changed under each of ${ATTEMPTS} attempts`,
            true,
            { cause: e },
          );
      }
    }
  }

  private async read(what: string, ref: DocumentReference): Promise<Read> {
    const snapshot = await this.call(what, () => ref.get());
    const data = snapshot.data();
    return { snapshot, lease: snapshot.exists && data ? leaseFrom(ref.id, data) : null };
  }

  private async write(ref: DocumentReference, read: Read, next: Lease): Promise<void> {
    const fields = fieldsOf(next);
    const updateTime = read.snapshot.updateTime;
    await withDeadline(this.deadlineMs, () =>
      read.lease === null || updateTime === undefined
        ? ref.create(fields)
        : ref.update(fields, { lastUpdateTime: updateTime }),
    );
  }
}

/** Another client wrote the document between our read and our write: nothing was written. */
function lostRace(error: unknown): boolean {
  const code = grpcCode(error);
  return (
    code === GrpcCode.ALREADY_EXISTS ||
    code === GrpcCode.FAILED_PRECONDITION ||
    code === GrpcCode.ABORTED ||
    // Updating a document that someone deleted since it was read.
    code === GrpcCode.NOT_FOUND
  );
}

/** The document of a lease (its id is the account id). */
function fieldsOf(lease: Lease): { holder: string; epoch: number; expires_at: number } {
  return { holder: lease.holder, epoch: lease.epoch, expires_at: lease.expires_at };
}

function leaseFrom(accountId: string, data: Record<string, unknown>): Lease {
  const { holder, epoch, expires_at } = data;
  if (typeof holder !== 'string' || typeof epoch !== 'number' || typeof expires_at !== 'number')
    throw new GovernorError(
      'LEASE_UNAVAILABLE',
      `the lease document of ${accountId} is malformed: ${JSON.stringify(data)}`,
      false,
    );
  return { account_id: accountId, holder, epoch, expires_at };
}
