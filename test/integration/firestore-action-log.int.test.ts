import { FirestoreDirectory, FirestoreLedger } from '@governor/adapters-gcp';
import type { ActionLogEntry } from '@governor/governor';
import { tenantRecord } from '@governor/governor/testing';
import { SigningKey } from '@governor/receipts';
import { buildEntries, collect } from '@governor/testkit';
import { firestoreProject } from '../support/firestore-project';

const key = SigningKey.fromSeed(Buffer.alloc(32, 9));
const CHAIN = 'tenants/acme';

function action(actionId: string, overrides: Partial<ActionLogEntry> = {}): ActionLogEntry {
  return {
    action_id: actionId,
    kind: 'noop',
    signal_id: `sig-${actionId}`,
    state: 'running',
    deadline_at: 1_795_000_000_000,
    recoverable: true,
    ...overrides,
  };
}

describe('the action log on Firestore', () => {
  let env: ReturnType<typeof firestoreProject>;
  beforeEach(() => {
    env = firestoreProject('action-log');
  });
  afterEach(() => env.cleanup());

  it('stores the layout of DESIGN.md section 3: /tenants/{id}/actions/{action_id}, ids encoded, beside the receipts', async () => {
    const db = env.client();
    const ledger = new FirestoreLedger({ db, workerId: 'w1' });
    await ledger.startActions(CHAIN, [action('sig-1-a0'), action('a/b.c_d')]);
    const built = buildEntries(CHAIN, 1, key);
    await ledger.append(
      CHAIN,
      [{ ...built.entries[0]!, action: action('sig-1-a0', { state: 'complete' }) }],
      built.head,
    );
    const docs = await db.collection('tenants/acme/actions').get();
    expect(docs.docs.map((d) => d.id).sort()).toEqual(['a%2Fb%2Ec%5Fd', 'sig-1-a0']);
    expect((await db.doc('tenants/acme/actions/sig-1-a0').get()).data()).toEqual(
      action('sig-1-a0', { state: 'complete' }),
    );
  });

  it('an append refused by the store (another writer moved the head) writes none of its action entries', async () => {
    const a = new FirestoreLedger({ db: env.client(), workerId: 'w1' });
    const b = new FirestoreLedger({ db: env.client(), workerId: 'w2' });
    await a.startActions(CHAIN, [action('a1')]);
    const first = buildEntries(CHAIN, 1, key);
    await a.append(CHAIN, first.entries, first.head);
    // b learns the head, then a moves it: b's commit fails its precondition at the store.
    expect(await b.head(CHAIN)).toEqual(first.head);
    const byA = buildEntries(CHAIN, 1, key, first.head);
    await a.append(CHAIN, byA.entries, byA.head);
    const byB = buildEntries(CHAIN, 1, key, first.head);
    await expect(
      b.append(CHAIN, [{ ...byB.entries[0]!, action: action('a1', { state: 'complete' }) }], byB.head),
    ).rejects.toMatchObject({ code: 'LEDGER_CONFLICT', retryable: false });
    expect(await a.runningActions(CHAIN)).toEqual([action('a1')]);
    expect(await a.head(CHAIN)).toEqual(byA.head);
  });

  it('deleting a tenant keeps its chain and its action log: they are the audit trail', async () => {
    const db = env.client();
    const ledger = new FirestoreLedger({ db, workerId: 'w1' });
    const directory = new FirestoreDirectory({ db });
    await directory.put(tenantRecord('acme'));
    await ledger.startActions(CHAIN, [action('a1'), action('a2', { started_at: 1_795_000_000_000 })]);
    const built = buildEntries(CHAIN, 2, key);
    await ledger.append(CHAIN, built.entries, built.head);
    await directory.delete('acme');
    expect(await directory.get('acme')).toBeNull();
    const reader = new FirestoreLedger({ db: env.client(), workerId: 'w2' });
    expect(await reader.head(CHAIN)).toEqual(built.head);
    expect(await collect(reader.read(CHAIN))).toHaveLength(2);
    expect(await reader.runningActions(CHAIN)).toHaveLength(2);
    expect(await reader.actionsStartedSince(CHAIN, 0)).toBe(1);
  });

  it('a chain id that is not one is refused before anything is sent, as a rejection', async () => {
    const ledger = new FirestoreLedger({ db: env.client(), workerId: 'w1' });
    for (const call of [
      () => ledger.startActions('tenants', [action('a1')]),
      () => ledger.putActions('tenants/acme/actions', [action('a1')]),
      () => ledger.runningActions('../acme'),
      () => ledger.actionsStartedSince('', 0),
    ])
      await expect(call()).rejects.toMatchObject({ retryable: false });
  });
});
