import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { openGcpStores, seedPolicies } from '@governor/adapters-gcp';
import {
  DirectoryArchive,
  DirectoryPolicyRegistry,
  FileDirectory,
  FileLedger,
  FileSpool,
  MemoryBus,
  MemoryControl,
} from '@governor/adapters-local';
import type {
  ArchiveStore,
  CheckpointWitness,
  ControlChannel,
  PolicyRegistry,
  ReceiptLedger,
  ReceiptSpool,
  SignalBus,
  TenantDirectory,
} from '@governor/governor';
import type { WorkerConfig } from './config';

/** The repo's plan policies: what the registry starts from when it has none. */
export const REPO_POLICIES = join(__dirname, '..', '..', '..', 'policies');

export interface Stores {
  readonly ledger: ReceiptLedger;
  readonly directory: TenantDirectory;
  readonly bus: SignalBus;
  readonly control: ControlChannel;
  readonly archive: ArchiveStore;
  readonly registry: PolicyRegistry;
  readonly witness?: CheckpointWitness;
  /** Always local and fsync'd: it is where receipts go while the ledger is down. */
  readonly spool: ReceiptSpool;
  close(): Promise<void>;
}

/** The embedded default: everything in files under `dataDir`, signals on an in-process bus. */
export async function openLocalStores(dataDir: string): Promise<Stores> {
  await fs.mkdir(dataDir, { recursive: true });
  const registryDir = join(dataDir, 'policies');
  await fs.cp(REPO_POLICIES, registryDir, {
    recursive: true,
    force: false,
    errorOnExist: false,
    filter: (src) => !src.endsWith('.md'),
  });
  return {
    ledger: await FileLedger.open(join(dataDir, 'ledger')),
    directory: new FileDirectory(join(dataDir, 'directory')),
    bus: new MemoryBus(),
    control: new MemoryControl(),
    archive: new DirectoryArchive(join(dataDir, 'archive')),
    registry: new DirectoryPolicyRegistry(registryDir),
    spool: new FileSpool(join(dataDir, 'spool')),
    close: () => Promise.resolve(),
  };
}

export async function openStores(config: WorkerConfig): Promise<Stores> {
  if (!config.gcp) return openLocalStores(config.dataDir);
  const gcp = await openGcpStores(config.gcp);
  // First deploy: the bucket has no policies yet; publish the repo's (never over existing ones).
  await seedPolicies(gcp.registry, REPO_POLICIES);
  return {
    ...gcp,
    spool: new FileSpool(join(config.dataDir, 'spool', config.workerId)),
  };
}
