import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { DirectoryArchive } from './directory-archive';
import { DirectoryPolicyRegistry } from './directory-policy-registry';
import { FileDirectory } from './file-directory';
import { FileLedger } from './file-ledger';
import { FileSpool } from './file-spool';
import { migrateLegacyActionLog } from './legacy-action-log';
import { FileBus } from './file-bus';
import { MemoryControl } from '@governor/governor/testing';

/** The repo's plan policies: what a registry starts from when it has none. */
export const REPO_POLICIES = join(__dirname, '..', '..', '..', 'policies');

/**
 * The embedded default's stores in one data directory: a durable file ledger, tenant directory,
 * archive, policy registry (seeded from the repo's policies/, never over existing files) and
 * spool; signals written ahead to a file log per tenant (a 202 is on disk) and delivered in
 * process; control messages on an in-process channel.
 */
export async function openLocalStores(dataDir: string, policiesDir: string = REPO_POLICIES) {
  await fs.mkdir(dataDir, { recursive: true });
  const registryDir = join(dataDir, 'policies');
  await fs.cp(policiesDir, registryDir, {
    recursive: true,
    force: false,
    errorOnExist: false,
    filter: (src) => !src.endsWith('.md'),
  });
  const bus = new FileBus(join(dataDir, 'signals'));
  const ledger = await FileLedger.open(join(dataDir, 'ledger'));
  await migrateLegacyActionLog(join(dataDir, 'directory'), ledger);
  return {
    ledger,
    directory: new FileDirectory(join(dataDir, 'directory')),
    bus,
    control: new MemoryControl(),
    archive: new DirectoryArchive(join(dataDir, 'archive')),
    registry: new DirectoryPolicyRegistry(registryDir),
    spool: new FileSpool(join(dataDir, 'spool')),
    close: () => bus.close(),
  };
}
