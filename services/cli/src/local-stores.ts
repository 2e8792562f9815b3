import {
  LogAlertSink,
  loadSigningKey,
  openLocalStores as openStores,
  openLockedLocalStores,
} from '@governor/adapters-local';

export { REPO_POLICIES } from '@governor/adapters-local';

/**
 * The embedded default's stores in one data directory (file ledger, directory, archive, policy
 * registry seeded from policies/, spool, signals written ahead to files), and the signing key in DATA_DIR/keys,
 * generated on first use. With `lock` (a command that runs tenants) the data dir is held until
 * the stores close; the read-only commands (exports, verification) do not take it.
 */
export async function openLocalStores(dataDir: string, options: { lock?: boolean } = {}) {
  const stores = options.lock ? await openLockedLocalStores(dataDir) : await openStores(dataDir);
  return { ...stores, ...(await loadSigningKey(dataDir)), alerts: new LogAlertSink(() => undefined) };
}
