import type { DocumentReference, Firestore } from '@google-cloud/firestore';
import { AccountId } from '@governor/contracts';
import { invalidAccountId, type TenantDirectory, type TenantRecord } from '@governor/governor';
import { directoryError, withDeadline } from './firestore-errors';

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

function pick<T>(data: Record<string, unknown>, fields: readonly string[]): T {
  return Object.fromEntries(fields.filter((f) => f in data).map((f) => [f, data[f]])) as T;
}

/**
 * The tenant directory on Firestore: the profile in `/tenants/{account_id}`. The tenant's chain
 * and its action log live under the same document (FirestoreLedger) and are never deleted with
 * the profile: receipts, and the action states they settle, are the audit trail.
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

  /** Deletes the profile only (a Firestore delete leaves subcollections: the chain stays). */
  async delete(accountId: string): Promise<void> {
    const ref = this.tenant(accountId);
    await this.call(`deleting tenant ${accountId}`, () => ref.delete());
  }

  async list(): Promise<TenantRecord[]> {
    const snapshot = await this.call('listing tenants', () => this.db.collection('tenants').get());
    return snapshot.docs
      .map((d) => d.data())
      .filter((d) => typeof d.account_id === 'string')
      .map((d) => pick<TenantRecord>(d, RECORD_FIELDS));
  }
}
