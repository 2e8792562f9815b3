import { join } from 'node:path';
import { DataDirInUse, FileSpool, openLockedLocalStores } from '@governor/adapters-local';
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
import type { GovernorConfig } from './config';
import { ConfigError } from './env';
import { openGcpStores, openKafkaBus, seedRepoPolicies } from './lazy-adapters';

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

/**
 * The stores `config` names: the embedded default's in the data dir (held by this process), or
 * Google Cloud's with the repo's policies published on first deploy, and with
 * GOVERNOR_SIGNALS=kafka the signals on Kafka. The cloud adapters are loaded only here.
 */
export async function openStores(config: GovernorConfig): Promise<Stores> {
  if (!config.gcp) return openEmbeddedStores(config.dataDir);
  const gcp = await openGcpStores(config.gcp);
  // First deploy: the bucket has no policies yet; publish the repo's (never over existing ones).
  await seedRepoPolicies(gcp.registry);
  const spool = new FileSpool(join(config.dataDir, 'spool', config.workerId));
  if (!config.kafka) return { ...gcp, spool };
  // Signals on Kafka; everything else (control, ledger, tenants, leases, archives, policies)
  // stays on Google Cloud. The Pub/Sub signal bus is never used, and its client closes with gcp.
  const bus = await openKafkaBus({
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

/**
 * The embedded default's stores, the data dir held by this process until they close; held by
 * another process is a configuration error.
 */
export async function openEmbeddedStores(dataDir: string) {
  try {
    return await openLockedLocalStores(dataDir);
  } catch (e) {
    if (e instanceof DataDirInUse) throw new ConfigError(e.message);
    throw e;
  }
}
