import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { Firestore } from '@google-cloud/firestore';
import { PubSub } from '@google-cloud/pubsub';
import { Storage } from '@google-cloud/storage';
import { GovernorError, type PolicyRegistry } from '@governor/governor';
import { FirestoreDirectory } from './firestore-directory';
import { FirestoreLeaseStore } from './firestore-lease-store';
import { FirestoreLedger } from './firestore-ledger';
import { GcsArchiveStore } from './gcs-archive';
import { GcsPolicyRegistry } from './gcs-policy-registry';
import { GcsCheckpointWitness } from './gcs-witness';
import { PubSubBus } from './pubsub-bus';
import { PubSubControl } from './pubsub-control';
import type { PubSubLog } from './pubsub-options';

export interface GcpConfig {
  readonly projectId: string;
  /** The bucket for archives, policies and checkpoint witnesses. */
  readonly bucket: string;
  readonly workerId: string;
  /** `host:port` of the Pub/Sub emulator; unset means Google Cloud. */
  readonly pubsubEmulatorHost?: string;
  /** `host:port` of the Firestore emulator; unset means Google Cloud. */
  readonly firestoreEmulatorHost?: string;
  /** Base URL of a Cloud Storage emulator (fake-gcs-server), e.g. `http://127.0.0.1:4443`. */
  readonly storageEmulatorHost?: string;
  /** How long one Firestore call may take before the store counts as unavailable. */
  readonly deadlineMs?: number;
  /** How long after a nack a signal comes back. */
  readonly redeliveryDelayMs?: number;
  readonly log?: PubSubLog;
}

export type GcpStores = Awaited<ReturnType<typeof openGcpStores>>;

/**
 * Every Google Cloud adapter on one set of clients. Emulator addresses are passed explicitly
 * rather than left in the environment: @google-cloud/storage misreads STORAGE_EMULATOR_HOST
 * (it drops the /storage/v1 path), and explicit settings make the configuration visible.
 */
export async function openGcpStores(config: GcpConfig) {
  // The storage client would read the variable itself, and misread it, whatever apiEndpoint says.
  delete process.env.STORAGE_EMULATOR_HOST;
  // On the emulators there is no GCE metadata server; without this the clients probe for one
  // and print a MetadataLookupWarning on every start (the Firestore client asks for a universe
  // domain even on its emulator, so that one alone is enough to warn).
  if (config.firestoreEmulatorHost) process.env.METADATA_SERVER_DETECTION ??= 'none';
  const firestore = withoutEnv(
    'FIRESTORE_EMULATOR_HOST',
    () =>
      new Firestore({
        projectId: config.projectId,
        ...(config.firestoreEmulatorHost
          ? {
              host: config.firestoreEmulatorHost,
              ssl: false,
              // What the client sends itself when it finds FIRESTORE_EMULATOR_HOST: full access.
              customHeaders: { Authorization: 'Bearer owner' },
            }
          : {}),
      }),
  );
  const pubsub = new PubSub({
    projectId: config.projectId,
    ...(config.pubsubEmulatorHost ? { apiEndpoint: config.pubsubEmulatorHost, emulatorMode: true } : {}),
  });
  const storage = new Storage({
    projectId: config.projectId,
    ...(config.storageEmulatorHost ? { apiEndpoint: config.storageEmulatorHost } : {}),
  });
  await ensureBucket(storage, config.bucket, config.storageEmulatorHost !== undefined);
  const deadline = config.deadlineMs === undefined ? {} : { deadlineMs: config.deadlineMs };
  const pubsubOptions = {
    pubsub,
    ...(config.redeliveryDelayMs === undefined ? {} : { redeliveryDelayMs: config.redeliveryDelayMs }),
    ...(config.log ? { log: config.log } : {}),
  };
  const { bucket } = config;
  return {
    ledger: new FirestoreLedger({ db: firestore, workerId: config.workerId, ...deadline }),
    directory: new FirestoreDirectory({ db: firestore, ...deadline }),
    /** Tenant ownership across workers: `/leases/{account_id}` and `/members/{worker_id}`. */
    leases: new FirestoreLeaseStore({ db: firestore, ...deadline }),
    bus: new PubSubBus(pubsubOptions),
    control: new PubSubControl(pubsubOptions),
    archive: new GcsArchiveStore({ storage, bucket }),
    registry: new GcsPolicyRegistry({ storage, bucket }),
    witness: new GcsCheckpointWitness({ storage, bucket }),
    clients: { firestore, pubsub, storage },
    async close(): Promise<void> {
      await Promise.allSettled([firestore.terminate(), pubsub.close()]);
    },
  };
}

/**
 * Runs `make` with `name` unset. The Firestore client prefers FIRESTORE_EMULATOR_HOST over the
 * host it is given (read once, in its constructor), so an explicit configuration would silently
 * lose to whatever the environment holds.
 */
function withoutEnv<T>(name: string, make: () => T): T {
  const saved = process.env[name];
  delete process.env[name];
  try {
    return make();
  } finally {
    if (saved !== undefined) process.env[name] = saved;
  }
}

async function ensureBucket(storage: Storage, name: string, emulator: boolean): Promise<void> {
  const bucket = storage.bucket(name);
  const where = emulator ? 'the Cloud Storage emulator' : 'Cloud Storage';
  const [exists] = await bucket.exists().catch((e: unknown) => {
    // An outage at start-up: starting again later may find it reachable.
    throw new GovernorError(
      'STORAGE_UNREACHABLE',
      `cannot reach bucket ${name} on ${where}: ${(e as Error).message}`,
      true,
      { cause: e },
    );
  });
  if (exists) return;
  // On the emulators the bucket is ours to make; in production it belongs to infra/.
  if (!emulator)
    throw new GovernorError(
      'BUCKET_MISSING',
      `bucket ${name} does not exist: create it (infra/) or set GOVERNOR_BUCKET`,
      false,
    );
  await storage.createBucket(name).catch((e: unknown) => {
    if ((e as { code?: unknown }).code !== 409) throw e;
  });
}

/**
 * Publishes the repo's plan policies (`{dir}/{plan}/{version}.json`) to a registry that lacks
 * them: what the GitOps pipeline does on first deploy. Returns how many were published.
 */
export async function seedPolicies(registry: PolicyRegistry, dir: string): Promise<number> {
  let published = 0;
  for (const plan of await fs.readdir(dir, { withFileTypes: true })) {
    if (!plan.isDirectory()) continue;
    for (const file of await fs.readdir(join(dir, plan.name))) {
      const version = /^(.+)\.json$/.exec(file)?.[1];
      if (!version) continue;
      const have = await registry.get(plan.name, version).then(
        () => true,
        () => false,
      );
      if (have) continue;
      await registry.put(
        plan.name,
        version,
        JSON.parse(await fs.readFile(join(dir, plan.name, file), 'utf8')),
      );
      published += 1;
    }
  }
  return published;
}
