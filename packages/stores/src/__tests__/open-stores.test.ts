import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as Stores from '..';

describe('openStores on the embedded default', () => {
  let dir: string;
  const loaded: string[] = [];
  let stores: typeof Stores;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'governor-stores-'));
    // Stand-ins that record being loaded: the embedded default must never load them.
    jest.doMock('@governor/adapters-gcp', () => {
      loaded.push('adapters-gcp');
      return {};
    });
    jest.doMock('@governor/adapters-kafka', () => {
      loaded.push('adapters-kafka');
      return {};
    });
    stores = jest.requireActual<typeof Stores>('..');
  });
  afterAll(async () => {
    jest.dontMock('@governor/adapters-gcp');
    jest.dontMock('@governor/adapters-kafka');
    await rm(dir, { recursive: true, force: true });
  });

  it('opens the stores in the data dir, held by this process, and loads no cloud adapter', async () => {
    const config = stores.governorConfigFromEnv({ GOVERNOR_DATA_DIR: join(dir, 'data') });
    const opened = await stores.openStores(config);
    try {
      expect(opened.leases).toBeUndefined();
      expect(await opened.ledger.head('tenants/acme')).toBeNull();
      await expect(stores.openStores(config)).rejects.toBeInstanceOf(stores.ConfigError);
    } finally {
      await opened.close();
    }
    expect(loaded).toEqual([]);
  });

  it('makes a development signing key in the data dir on first use, private to the user, and reuses it', async () => {
    const config = { dataDir: join(dir, 'keys-test') };
    const first = await stores.loadSigner(config);
    const again = await stores.loadSigner(config);
    expect(again.signer.keyId).toBe(first.signer.keyId);
    expect(again.keyring.entries().map((k) => k.key_id)).toEqual([first.signer.keyId]);
    expect((await stat(join(dir, 'keys-test', 'keys', 'signing-key.pem'))).mode & 0o777).toBe(0o600);
  });
});
