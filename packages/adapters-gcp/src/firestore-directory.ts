import type { CollectionReference, DocumentReference, Firestore } from '@google-cloud/firestore';
import { AccountId } from '@governor/contracts';
import {
  invalidAccountId,
  type ActionLogEntry,
  type TenantDirectory,
  type TenantRecord,
} from '@governor/governor';
import { GrpcCode, directoryError, grpcCode, withDeadline } from './firestore-errors';

export interface FirestoreDirectoryOptions {
  readonly db: Firestore;
  /** How long one call may take before the store counts as unavailable. Default 5 s. */
  readonly deadlineMs?: number;
}

const RECORD_FIELDS = [
  'account_id',
  'sku_id',
  'plan_type',
  'region',
  'entitlement_id',
  'policy_version',
  'state',
  'concurrency',
  'monthly_actions_used',
] as const;

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

function pick<T>(data: Record<string, unknown>, fields: readonly string[]): T {
  return Object.fromEntries(fields.filter((f) => f in data).map((f) => [f, data[f]])) as T;
}

/**
 * The tenant directory on Firestore: the profile in `/tenants/{account_id}` and the action log
 * in `/tenants/{account_id}/actions/{action_id}`. The chain of the tenant lives under the same
 * document (FirestoreLedger) and is never deleted with the profile: receipts are the audit trail.
 */
export class FirestoreDirectory implements TenantDirectory {
  private readonly db: Firestore;
  private readonly deadlineMs: number;

  constructor(options: FirestoreDirectoryOptions) {
    this.db = options.db;
    this.deadlineMs = options.deadlineMs ?? 5_000;
  }

  private tenant(accountId: string): DocumentReference {
    if (!AccountId.safeParse(accountId).success) throw invalidAccountId(accountId);
    return this.db.collection('tenants').doc(accountId);
  }

  private actions(accountId: string): CollectionReference {
    return this.tenant(accountId).collection('actions');
  }

  private call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return withDeadline(this.deadlineMs, fn).catch((e: unknown) => {
      throw directoryError(what, e);
    });
  }

  async get(accountId: string): Promise<TenantRecord | null> {
    const ref = this.tenant(accountId);
    const snapshot = await this.call(`reading tenant ${accountId}`, () => ref.get());
    const data = snapshot.data();
    return data && typeof data.account_id === 'string' ? pick<TenantRecord>(data, RECORD_FIELDS) : null;
  }

  async put(record: TenantRecord): Promise<void> {
    const ref = this.tenant(record.account_id);
    await this.call(`storing tenant ${record.account_id}`, () =>
      ref.set(pick<Record<string, unknown>>(record as unknown as Record<string, unknown>, RECORD_FIELDS)),
    );
  }

  async delete(accountId: string): Promise<void> {
    const ref = this.tenant(accountId);
    const actions = this.actions(accountId);
    await this.call(`deleting tenant ${accountId}`, async () => {
      // The action log first: a tenant provisioned again under this id starts with an empty log.
      for (;;) {
        const page = await actions.limit(400).get();
        if (page.empty) break;
        const batch = this.db.batch();
        for (const doc of page.docs) batch.delete(doc.ref);
        await batch.commit();
      }
      await ref.delete();
    });
  }

  async list(): Promise<TenantRecord[]> {
    const snapshot = await this.call('listing tenants', () => this.db.collection('tenants').get());
    return snapshot.docs
      .map((d) => d.data())
      .filter((d) => typeof d.account_id === 'string')
      .map((d) => pick<TenantRecord>(d, RECORD_FIELDS));
  }

  async putAction(accountId: string, entry: ActionLogEntry): Promise<void> {
    const ref = this.actions(accountId).doc(actionDocId(entry.action_id));
    await this.call(`storing action ${entry.action_id} of ${accountId}`, () => ref.set(actionFields(entry)));
  }

  async startAction(accountId: string, entry: ActionLogEntry): Promise<boolean> {
    const ref = this.actions(accountId).doc(actionDocId(entry.action_id));
    try {
      await withDeadline(this.deadlineMs, () => ref.create(actionFields(entry)));
      return true;
    } catch (e) {
      if (grpcCode(e) === GrpcCode.ALREADY_EXISTS) return false;
      throw directoryError(`starting action ${entry.action_id} of ${accountId}`, e);
    }
  }

  async runningActions(accountId: string): Promise<ActionLogEntry[]> {
    const query = this.actions(accountId).where('state', '==', 'running');
    const snapshot = await this.call(`reading the action log of ${accountId}`, () => query.get());
    return snapshot.docs.map((d) => pick<ActionLogEntry>(d.data(), ACTION_FIELDS));
  }

  /** A count aggregation over the `started_at` index: no documents are read. */
  async actionsStartedSince(accountId: string, since: number): Promise<number> {
    const query = this.actions(accountId).where('started_at', '>=', since).count();
    const snapshot = await this.call(`counting the actions of ${accountId}`, () => query.get());
    return snapshot.data().count;
  }
}

function actionFields(entry: ActionLogEntry): Record<string, unknown> {
  return pick<Record<string, unknown>>(entry as unknown as Record<string, unknown>, ACTION_FIELDS);
}
