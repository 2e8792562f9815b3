import { join } from 'node:path';
import { FieldValue } from '@google-cloud/firestore';
import { FirestoreDirectory, FirestoreLedger } from '@governor/adapters-gcp';
import { emptyHead, SigningKey } from '@governor/receipts';
import {
  buildEntries,
  collect,
  describeReceiptLedgerContract,
  describeTenantDirectoryContract,
  spawnTs,
} from '@governor/testkit';
import { firestoreProject } from '../support/firestore-project';

const project = () => firestoreProject('ledger');

describeReceiptLedgerContract('FirestoreLedger', () => {
  const { client, cleanup } = project();
  return Promise.resolve({
    ledger: new FirestoreLedger({ db: client(), workerId: 'w1' }),
    peer: () => Promise.resolve(new FirestoreLedger({ db: client(), workerId: 'w2' })),
    cleanup,
  });
});

describeTenantDirectoryContract('FirestoreDirectory', () => {
  const { client, cleanup } = project();
  return Promise.resolve({
    directory: new FirestoreDirectory({ db: client() }),
    reopen: () => Promise.resolve(new FirestoreDirectory({ db: client() })),
    cleanup,
  });
});

describe('FirestoreLedger on the emulator', () => {
  const key = SigningKey.fromSeed(Buffer.alloc(32, 5));
  let env: ReturnType<typeof project>;
  beforeEach(() => {
    env = project();
  });
  afterEach(() => env.cleanup());

  it('stores the layout of DESIGN.md section 3: 20-digit seq documents and the head beside them', async () => {
    const db = env.client();
    const ledger = new FirestoreLedger({ db, workerId: 'w1' });
    const built = buildEntries('tenants/acme', 3, key);
    await ledger.append('tenants/acme', built.entries, built.head);
    const docs = await db.collection('tenants/acme/receipts').get();
    expect(docs.docs.map((d) => d.id)).toEqual([
      '00000000000000000000',
      '00000000000000000001',
      '00000000000000000002',
    ]);
    expect(docs.docs[1]?.get('leaf_hash')).toBe(built.entries[1]?.record.leaf_hash);
    expect((await db.doc('tenants/acme/ledger/head').get()).get('size')).toBe(3);
  });

  it('takes a group commit of 499 receipts (with the head, the 500 writes of one commit) in one atomic batch, and reads it back in pages', async () => {
    const ledger = new FirestoreLedger({ db: env.client(), workerId: 'w1', pageSize: 128 });
    const built = buildEntries('workers/worker-1', 499, key);
    await ledger.append('workers/worker-1', built.entries, built.head);
    const read = await collect(ledger.read('workers/worker-1'));
    expect(read.map((r) => r.leaf_hash)).toEqual(built.entries.map((e) => e.record.leaf_hash));
    expect(await collect(ledger.read('workers/worker-1', { afterSeq: 255, limit: 200 }))).toHaveLength(200);
  });

  it('a client whose known head is stale gets a conflict, then continues from the stored head', async () => {
    const a = new FirestoreLedger({ db: env.client(), workerId: 'w1' });
    const b = new FirestoreLedger({ db: env.client(), workerId: 'w2' });
    const first = buildEntries('tenants/acme', 2, key, emptyHead('tenants/acme'));
    await a.append('tenants/acme', first.entries, first.head);
    expect(await b.head('tenants/acme')).toEqual(first.head);
    const byA = buildEntries('tenants/acme', 1, key, first.head);
    await a.append('tenants/acme', byA.entries, byA.head);
    const byB = buildEntries('tenants/acme', 3, key, first.head);
    await expect(b.append('tenants/acme', byB.entries, byB.head)).rejects.toMatchObject({
      code: 'LEDGER_CONFLICT',
      retryable: false,
    });
    const next = buildEntries('tenants/acme', 1, key, (await b.head('tenants/acme'))!);
    await b.append('tenants/acme', next.entries, next.head);
    expect(await collect(a.read('tenants/acme'))).toHaveLength(4);
  });

  it('keeps the fence in the head document: a claim alone creates it with an empty head, appends carry it', async () => {
    const db = env.client();
    const owner = new FirestoreLedger({ db, workerId: 'w1' });
    await owner.claim('tenants/acme', 7);
    const created = (await db.doc('tenants/acme/ledger/head').get()).data();
    expect(created).toEqual({
      chain: 'tenants/acme',
      size: 0,
      head_hash: emptyHead('tenants/acme').head_hash,
      last_timestamp: null,
      tree: { size: 0, roots: [] },
      fence: 7,
    });
    expect(await owner.head('tenants/acme')).toBeNull();
    const built = buildEntries('tenants/acme', 2, key);
    await owner.append('tenants/acme', built.entries, built.head);
    expect((await db.doc('tenants/acme/ledger/head').get()).data()).toMatchObject({ size: 2, fence: 7 });
    // An unclaimed client that read the head before the claim still appends (unfenced), once
    // it has re-read the document the claim created.
    const reader = new FirestoreLedger({ db: env.client(), workerId: 'w2' });
    expect(await reader.head('tenants/globex')).toBeNull();
    await new FirestoreLedger({ db: env.client(), workerId: 'w3' }).claim('tenants/globex', 1);
    const globex = buildEntries('tenants/globex', 1, key);
    await reader.append('tenants/globex', globex.entries, globex.head);
    expect((await db.doc('tenants/globex/ledger/head').get()).data()).toMatchObject({ size: 1, fence: 1 });
  });

  it('a head document rewritten with the same head and fence (a restore) still takes the owner’s commit; with a higher fence it is fenced', async () => {
    const db = env.client();
    const owner = new FirestoreLedger({ db, workerId: 'w1' });
    await owner.claim('tenants/acme', 2);
    const first = buildEntries('tenants/acme', 2, key);
    await owner.append('tenants/acme', first.entries, first.head);
    const headRef = db.doc('tenants/acme/ledger/head');
    // Same head and fence, new update time: the owner's precondition fails, the re-read shows
    // its own head and fence, and it commits once more.
    await headRef.update({ restored_at: Date.now() });
    const second = buildEntries('tenants/acme', 1, key, first.head);
    await owner.append('tenants/acme', second.entries, second.head);
    expect(await owner.head('tenants/acme')).toEqual(second.head);
    // Same head, but a fence above the owner's: a newer owner's claim, whatever the head says.
    await headRef.update({ fence: 3 });
    const third = buildEntries('tenants/acme', 1, key, second.head);
    await expect(owner.append('tenants/acme', third.entries, third.head)).rejects.toMatchObject({
      code: 'LEDGER_FENCED',
      retryable: false,
    });
    expect(await owner.head('tenants/acme')).toEqual(second.head);
    // Same head, but the fence lost (a restore from before the claim): a conflict, not a silent re-claim.
    const other = new FirestoreLedger({ db: env.client(), workerId: 'w2' });
    await other.claim('tenants/acme', 5);
    const byOther = buildEntries('tenants/acme', 1, key, second.head);
    await headRef.update({ fence: FieldValue.delete() });
    await expect(other.append('tenants/acme', byOther.entries, byOther.head)).rejects.toMatchObject({
      code: 'LEDGER_CONFLICT',
      retryable: false,
    });
  });

  it('the probe writes and reads /health/{worker_id}', async () => {
    const db = env.client();
    await new FirestoreLedger({ db, workerId: 'worker-7' }).probe();
    expect((await db.doc('health/worker-7').get()).exists).toBe(true);
  });

  it('an unreachable store fails fast and retryably, within the deadline', async () => {
    const child = spawnTs(join(__dirname, '..', 'support', 'unreachable-firestore.ts'), {});
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    await new Promise((resolve) => child.on('exit', resolve));
    const result = JSON.parse(out) as { ok: boolean; ms: number; code: string; retryable: boolean };
    expect(result).toMatchObject({ ok: false, code: 'LEDGER_UNAVAILABLE', retryable: true });
    expect(result.ms).toBeLessThan(3_000);
  });
});
