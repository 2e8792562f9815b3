import { join } from 'node:path';
import { openGcpStores, seedPolicies } from '@governor/adapters-gcp';
import { KafkaBus } from '@governor/adapters-kafka';
import { DataDirInUse, FileSpool, openLockedLocalStores, REPO_POLICIES } from '@governor/adapters-local';
import type {
  ArchiveStore,
  CheckpointWitness,
  ControlChannel,
  LeaseStore,
  PolicyRegistry,
  ReceiptLedger,
  ReceiptSpool,
  SignalBus,
  TenantDirectory,
} from '@governor/governor';
import { ConfigError, type WorkerConfig } from './config';

export interface Stores {
  readonly ledger: ReceiptLedger;
  readonly directory: TenantDirectory;
  readonly bus: SignalBus;
  readonly control: ControlChannel;
  readonly archive: ArchiveStore;
  readonly registry: PolicyRegistry;
  readonly witness?: CheckpointWitness;
  /** Tenant leases, where workers share tenants (gcp); absent on the embedded default. */
  readonly leases?: LeaseStore;
  /** Always local and fsync'd: it is where receipts go while the ledger is down. */
  readonly spool: ReceiptSpool;
  close(): Promise<void>;
}

export async function openStores(config: WorkerConfig): Promise<Stores> {
  if (!config.gcp) return openEmbedded(config.dataDir);
  const gcp = await openGcpStores(config.gcp);
  // First deploy: the bucket has no policies yet; publish the repo's (never over existing ones).
  await seedPolicies(gcp.registry, REPO_POLICIES);
  const spool = new FileSpool(join(config.dataDir, 'spool', config.workerId));
  if (!config.kafka) return { ...gcp, spool };
  // Signals on Kafka; everything else (control, ledger, tenants, leases, archives, policies)
  // stays on Google Cloud. The Pub/Sub signal bus is never used, and its client closes with gcp.
  const bus = new KafkaBus({
    brokers: [...config.kafka.brokers],
    ...(config.kafka.namespace ? { namespace: config.kafka.namespace } : {}),
    clientId: `governor-${config.workerId}`,
    redeliveryDelayMs: config.redeliveryMs,
  });
  return {
    ...gcp,
    bus,
    spool,
    async close(): Promise<void> {
      // The bus first: its consumers commit what was acked and leave their groups.
      try {
        await bus.close();
      } finally {
        await gcp.close();
      }
    },
  };
}

/** The embedded default's stores, the data dir held by this process; held elsewhere is a configuration error. */
async function openEmbedded(dataDir: string): Promise<Stores> {
  try {
    return await openLockedLocalStores(dataDir);
  } catch (e) {
    if (e instanceof DataDirInUse) throw new ConfigError(e.message);
    throw e;
  }
}
