import { join } from 'node:path';
import { openGcpStores, seedPolicies, type GcpStores } from '@governor/adapters-gcp';
import { backends, uniqueName } from '../support/backends';

const POLICIES = join(__dirname, '..', '..', 'policies');

describe('openGcpStores on the emulators', () => {
  let stores: GcpStores;
  const saved = { ...process.env };
  beforeAll(async () => {
    // The explicit configuration wins: the variables point nowhere (the clients prefer them).
    process.env.FIRESTORE_EMULATOR_HOST = '127.0.0.1:9';
    process.env.PUBSUB_EMULATOR_HOST = '127.0.0.1:9';
    stores = await openGcpStores({
      projectId: uniqueName('stores'),
      bucket: uniqueName('bucket'),
      workerId: 'worker-1',
      pubsubEmulatorHost: backends.pubsub,
      firestoreEmulatorHost: backends.firestore,
      storageEmulatorHost: backends.gcs,
    });
  });
  afterAll(async () => {
    await stores.close();
    process.env = saved;
  });

  it('reaches all three services at the configured addresses, creating the bucket on the emulator', async () => {
    await stores.ledger.probe();
    await stores.bus.createTopic('acme');
    expect(await stores.bus.topicExists('acme')).toBe(true);
    await stores.bus.deleteTopic('acme');
    expect(await stores.archive.put('acme/2026-11-23.tar.gz', Buffer.from('archive'))).toMatchObject({
      size: 7,
    });
  });

  it('seeds the repo policies once; seeding again publishes nothing', async () => {
    expect(await seedPolicies(stores.registry, POLICIES)).toBe(3);
    expect(await seedPolicies(stores.registry, POLICIES)).toBe(0);
    expect(await stores.registry.latest('professional')).toMatchObject({ plan_type: 'professional' });
  });
});
