import { Firestore } from '@google-cloud/firestore';
import { backends, projectId, uniqueName } from '../support/backends';

describe('Firestore emulator smoke', () => {
  const saved = process.env.FIRESTORE_EMULATOR_HOST;
  let db: Firestore;
  beforeAll(() => {
    // The client reads the emulator address from the environment only.
    process.env.FIRESTORE_EMULATOR_HOST = backends.firestore;
    db = new Firestore({ projectId });
  });
  afterAll(async () => {
    await db.terminate();
    if (saved === undefined) delete process.env.FIRESTORE_EMULATOR_HOST;
    else process.env.FIRESTORE_EMULATOR_HOST = saved;
  });

  it('commits a batch atomically and reads it back', async () => {
    const root = db.collection('smoke').doc(uniqueName('tenant'));
    const batch = db.batch();
    for (let seq = 0; seq < 50; seq++) {
      batch.create(root.collection('receipts').doc(String(seq).padStart(20, '0')), { seq });
    }
    batch.set(root, { head: 49 });
    await batch.commit();

    const snapshot = await root.collection('receipts').orderBy('seq').get();
    expect(snapshot.docs.map((d) => d.get('seq') as number)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect((await root.get()).get('head')).toBe(49);

    // create() on an existing document fails: this is what stops a second writer forking a chain.
    await expect(
      root.collection('receipts').doc(String(0).padStart(20, '0')).create({ seq: 0 }),
    ).rejects.toThrow(/ALREADY_EXISTS|already exists/i);
  });
});
