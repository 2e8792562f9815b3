import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { FileSpool, LogAlertSink } from '@governor/adapters-local';
import type {
  AlertSink,
  ArchiveStore,
  CheckpointWitness,
  PolicyRegistry,
  ReceiptLedger,
  ReceiptSpool,
  SignalBus,
  TenantDirectory,
} from '@governor/governor';
import type { Keyring, SigningKey } from '@governor/receipts';
import type { Signals } from '../backend';
import { CliError } from '../errors';
import { loadSigner, openEmbeddedStores } from '@governor/stores';
import { gcpFailure, kafkaBrokers, openDemoGcp, openKafkaBus } from '../gcp-stores';

export const DEMO_WORKER = 'demo-worker';

/** What the demo runs on, on either backend. */
export interface DemoStores {
  /** The local folder: signing key, spool and exports (and on the embedded default, everything). */
  readonly dataDir: string;
  readonly signer: SigningKey;
  readonly keyring: Keyring;
  readonly ledger: ReceiptLedger;
  readonly directory: TenantDirectory;
  readonly bus: SignalBus;
  readonly archive: ArchiveStore;
  readonly registry: PolicyRegistry;
  readonly spool: ReceiptSpool;
  readonly alerts: AlertSink;
  readonly witness: CheckpointWitness | null;
  /** Fields added to the --json report. */
  readonly about: Record<string, unknown>;
  /** Lines said once the demo is done: how to look at what it wrote. */
  readonly afterwards: readonly string[];
  /** The error to report for a failure while the demo ran. */
  failure(doing: string, e: unknown): unknown;
  close(): Promise<void>;
}

export async function openLocalDemo(
  makeDataDir: () => string,
  say: (line: string) => void,
): Promise<DemoStores> {
  const dataDir = makeDataDir();
  say(`data in ${dataDir}`);
  // Held for the demo's run: never two processes on one data dir.
  const stores = await openEmbeddedStores(dataDir);
  const key = await loadSigner({ dataDir }).catch(async (e: unknown) => {
    await stores.close();
    throw e;
  });
  return {
    ...stores,
    ...key,
    alerts: new LogAlertSink(() => undefined),
    dataDir,
    witness: null,
    about: { backend: 'local' },
    afterwards: [],
    failure: (_doing, e) => e,
  };
}

/**
 * The demo on the emulators: Firestore, Pub/Sub and Cloud Storage in a project of the run's
 * own, with the signing key, spool and exports in the local data folder. With `signals` kafka
 * the tenant signals travel on Kafka (KAFKA_BROKERS) instead of Pub/Sub, in topics and consumer
 * groups prefixed with the project's name: Kafka's names are global to the cluster.
 */
export async function openGcpDemo(
  makeDataDir: () => string,
  say: (line: string) => void,
  signals: Signals = 'pubsub',
): Promise<DemoStores> {
  // A bad KAFKA_BROKERS fails before anything is opened.
  const env = process.env;
  const brokers = signals === 'kafka' ? kafkaBrokers(env) : undefined;
  const { stores, config, seeded } = await openDemoGcp(env, DEMO_WORKER);
  const project = config.projectId;
  let kafka: (SignalBus & { close(): Promise<void> }) | undefined;
  let dataDir: string;
  let key: { signer: SigningKey; keyring: Keyring };
  try {
    if (brokers) kafka = await openKafkaBus(brokers, project);
    dataDir = makeDataDir();
    await fs.mkdir(dataDir, { recursive: true });
    key = await loadSigner({ dataDir });
  } catch (e) {
    await kafka?.close();
    await stores.close();
    throw e;
  }
  const { signer, keyring } = key;
  say(`data in ${dataDir} (signing key, safe-mode spool, exports)`);
  say(
    `project ${project} on the emulators (Firestore ${config.firestoreEmulatorHost ?? ''}, Pub/Sub ${config.pubsubEmulatorHost ?? ''}, Cloud Storage ${config.storageEmulatorHost ?? ''}); ${seeded} policies published to gs://${config.bucket}/policies/`,
  );
  const topics = `${project}.tenants.{account_id}.signals`;
  if (brokers) say(`signals on Kafka at ${brokers.join(',')}: topics ${topics}`);
  const keys = join(dataDir, 'keys', 'keys.json');
  const closeAll = async () => {
    try {
      await kafka?.close();
    } finally {
      await stores.close();
    }
  };
  return {
    dataDir,
    signer,
    keyring,
    ledger: stores.ledger,
    directory: stores.directory,
    bus: kafka ?? stores.bus,
    archive: stores.archive,
    registry: stores.registry,
    witness: stores.witness,
    spool: new FileSpool(join(dataDir, 'spool')),
    alerts: new LogAlertSink(() => undefined),
    about: {
      backend: 'gcp',
      signals,
      ...(brokers ? { kafka: { brokers, namespace: project } } : {}),
      project,
      bucket: config.bucket,
      keys,
    },
    afterwards: [
      `to look at what it wrote: export GOVERNOR_PROJECT=${project} GOVERNOR_BUCKET=${config.bucket}`,
      `  then e.g. governor verify-chain --backend gcp --account-id globex --keys ${keys}`,
      ...(brokers ? [`the signals stay on Kafka at ${brokers.join(',')} in topics ${topics}`] : []),
    ],
    failure: (doing, e) => {
      // A programming error keeps its stack; anything else is the backends' and gets one line.
      if (e instanceof TypeError || e instanceof RangeError || e instanceof ReferenceError) return e;
      if (e instanceof CliError) return e;
      const failed = gcpFailure(config, doing, e);
      return brokers
        ? new CliError(`${failed.message}; with --signals kafka: is Kafka up at ${brokers.join(',')}?`, 2, {
            cause: e,
          })
        : failed;
    },
    close: closeAll,
  };
}
