import { LogAlertSink, loadSigningKey, openLocalStores as openStores } from '@governor/adapters-local';

export { REPO_POLICIES } from '@governor/adapters-local';

/**
 * The embedded default's stores in one data directory (file ledger, directory, archive, policy
 * registry seeded from policies/, spool, in-process bus), and the signing key in DATA_DIR/keys,
 * generated on first use.
 */
export async function openLocalStores(dataDir: string) {
  const stores = await openStores(dataDir);
  return { ...stores, ...(await loadSigningKey(dataDir)), alerts: new LogAlertSink(() => undefined) };
}
