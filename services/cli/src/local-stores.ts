import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import {
  DirectoryArchive,
  DirectoryPolicyRegistry,
  FileDirectory,
  FileLedger,
  FileSpool,
  LogAlertSink,
  MemoryBus,
} from '@governor/adapters-local';
import { Keyring, SigningKey } from '@governor/receipts';
import { KEY_FILE, KEYS_FILE } from './commands/keys';

/** The repo's plan policies, the GitOps source the embedded default starts from. */
export const REPO_POLICIES = join(__dirname, '..', '..', '..', 'policies');

/**
 * The demo's signing key in DATA_DIR/keys (signing-key.pem, and keys.json for verifiers),
 * generated on first use.
 */
export async function loadOrCreateKey(dataDir: string): Promise<{ signer: SigningKey; keyring: Keyring }> {
  const keysDir = join(dataDir, 'keys');
  try {
    return {
      signer: SigningKey.parse(await fs.readFile(join(keysDir, KEY_FILE), 'utf8')),
      keyring: Keyring.fromJson(await fs.readFile(join(keysDir, KEYS_FILE), 'utf8')),
    };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const signer = SigningKey.generate();
  const keyring = new Keyring([signer.publicEntry(new Date().toISOString())]);
  await fs.mkdir(keysDir, { recursive: true, mode: 0o700 });
  await fs.writeFile(join(keysDir, KEY_FILE), signer.toPem(), { mode: 0o600, flag: 'wx' });
  await fs.writeFile(join(keysDir, KEYS_FILE), keyring.toJson());
  return { signer, keyring };
}

/**
 * The embedded default's stores in one data directory: a durable file ledger, tenant directory,
 * archive, policy registry (seeded from policies/) and spool, an in-process bus, and a signing
 * key created on first use.
 */
export async function openLocalStores(dataDir: string) {
  await fs.mkdir(dataDir, { recursive: true });
  const { signer, keyring } = await loadOrCreateKey(dataDir);
  const registryDir = join(dataDir, 'policies');
  await fs.cp(REPO_POLICIES, registryDir, {
    recursive: true,
    force: false,
    errorOnExist: false,
    filter: (src) => !src.endsWith('.md'),
  });
  return {
    signer,
    keyring,
    ledger: await FileLedger.open(join(dataDir, 'ledger')),
    directory: new FileDirectory(join(dataDir, 'directory')),
    archive: new DirectoryArchive(join(dataDir, 'archive')),
    registry: new DirectoryPolicyRegistry(registryDir),
    spool: new FileSpool(join(dataDir, 'spool')),
    bus: new MemoryBus(),
    alerts: new LogAlertSink(() => undefined),
  };
}
