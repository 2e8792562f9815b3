import { hostname } from 'node:os';
import { resolve } from 'node:path';
import type { GcpConfig } from '@governor/adapters-gcp';
import { WorkerId } from '@governor/contracts';
import { DEFAULT_DRAIN_TIMEOUT_MS } from '@governor/governor';
import { z } from 'zod';
import { ConfigError, parseEnv } from './env';
import { gcpConfigFromEnv } from './gcp-config';
import { kafkaBrokersFromEnv, type KafkaConfig } from './kafka-config';

const Milliseconds = z.coerce.number().int().min(10).max(3_600_000);

const Env = z.object({
  GOVERNOR_BACKEND: z.enum(['local', 'gcp']).default('local'),
  GOVERNOR_DATA_DIR: z.string().min(1).default('.governor'),
  GOVERNOR_SIGNING_KEY_FILE: z.string().min(1).optional(),
  GOVERNOR_WORKER_ID: WorkerId.optional(),
  GOVERNOR_ACTION_SECRET: z
    .string()
    .regex(/^whsec_[A-Za-z0-9+/=]{16,}$/, 'expected whsec_<base64>')
    .optional(),
  GOVERNOR_HEALTH_INTERVAL_MS: Milliseconds.default(1_000),
  GOVERNOR_HEALTH_THRESHOLD: z.coerce.number().int().min(1).max(100).default(3),
  GOVERNOR_LAG_WINDOW_MS: Milliseconds.default(10_000),
  GOVERNOR_DRAIN_TIMEOUT_MS: Milliseconds.default(DEFAULT_DRAIN_TIMEOUT_MS),
  GOVERNOR_STORE_DEADLINE_MS: Milliseconds.default(5_000),
  GOVERNOR_REDELIVERY_MS: z.coerce.number().int().min(0).max(600_000).default(1_000),
  GOVERNOR_COMMIT_INTERVAL_MS: z.coerce.number().int().min(0).max(60_000).default(0),
  GOVERNOR_LEASE_MS: z.coerce.number().int().min(300).max(600_000).default(10_000),
  GOVERNOR_SIGNALS: z.enum(['pubsub', 'kafka']).optional(),
  GOVERNOR_KAFKA_NAMESPACE: z
    .string()
    .regex(/^[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}$/, 'expected a topic-name prefix: letters, digits, . _ -')
    .optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export interface GovernorConfig {
  readonly backend: 'local' | 'gcp';
  readonly workerId: string;
  /** Local state: the embedded default's stores, the spool, and a development signing key. */
  readonly dataDir: string;
  /** PEM or seed file of the signing key; without one a development key is made in dataDir. */
  readonly signingKeyFile?: string;
  /** Standard Webhooks secret the `http` action handler signs its calls with. */
  readonly actionSecret?: string;
  readonly healthIntervalMs: number;
  readonly healthThreshold: number;
  readonly lagWindowMs: number;
  readonly drainTimeoutMs: number;
  readonly redeliveryMs: number;
  /** The least time between two commits of one chain under load (0: every turn commits). */
  readonly commitIntervalMs: number;
  /**
   * Tenant lease period on the gcp backend: workers share tenants by leases in Firestore, and a
   * dead worker's tenants are taken over once its leases run out.
   */
  readonly leaseMs: number;
  readonly logLevel: string;
  readonly gcp?: GcpConfig;
  /**
   * Where tenant signals travel: the in-process bus of the embedded default (local), Pub/Sub
   * (gcp, the default), or Kafka (gcp with GOVERNOR_SIGNALS=kafka; control, ledger, directory,
   * archive, registry and leases stay on Google Cloud).
   */
  readonly signals: 'in-process' | 'pubsub' | 'kafka';
  /** The Kafka brokers and topic namespace, with GOVERNOR_SIGNALS=kafka. */
  readonly kafka?: KafkaConfig;
}

/** A worker id from the host name: what Cloud Run and most hosts make unique. */
export function defaultWorkerId(): string {
  const id = `w-${hostname()
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')}`
    .slice(0, 63)
    .replace(/-+$/, '');
  return id.length >= 3 ? id : 'worker-1';
}

/** The embedded default's data dir: GOVERNOR_DATA_DIR, else `.governor`, resolved. */
export function dataDirFromEnv(env: NodeJS.ProcessEnv): string {
  return resolve(env.GOVERNOR_DATA_DIR || '.governor');
}

/** The governor's configuration from its environment (see `governor-worker --help`). */
export function governorConfigFromEnv(env: NodeJS.ProcessEnv): GovernorConfig {
  const e = parseEnv(Env, env);
  const gcp =
    e.GOVERNOR_BACKEND === 'gcp'
      ? {
          ...gcpConfigFromEnv(env, { workerId: defaultWorkerId() }),
          deadlineMs: e.GOVERNOR_STORE_DEADLINE_MS,
          redeliveryDelayMs: e.GOVERNOR_REDELIVERY_MS,
        }
      : undefined;
  if (gcp && !gcp.firestoreEmulatorHost && !e.GOVERNOR_SIGNING_KEY_FILE)
    throw new ConfigError(
      'GOVERNOR_SIGNING_KEY_FILE is not set: against Google Cloud the worker signs with a key you provide (governor keys generate)',
    );
  const workerId = gcp?.workerId ?? e.GOVERNOR_WORKER_ID ?? 'local-worker';
  if (e.GOVERNOR_SIGNALS !== undefined && !gcp)
    throw new ConfigError(
      `GOVERNOR_SIGNALS=${e.GOVERNOR_SIGNALS} needs GOVERNOR_BACKEND=gcp: the embedded default (local) is one worker whose signals travel on an in-process bus; Pub/Sub or Kafka carry signals between the ingress and workers sharing tenants, which they do on the gcp backend (leases, receipts and tenants in Firestore)`,
    );
  const kafka: KafkaConfig | undefined =
    e.GOVERNOR_SIGNALS === 'kafka'
      ? {
          brokers: kafkaBrokersFromEnv(env),
          ...(e.GOVERNOR_KAFKA_NAMESPACE ? { namespace: e.GOVERNOR_KAFKA_NAMESPACE } : {}),
        }
      : undefined;
  return {
    backend: e.GOVERNOR_BACKEND,
    workerId,
    dataDir: resolve(e.GOVERNOR_DATA_DIR),
    ...(e.GOVERNOR_SIGNING_KEY_FILE ? { signingKeyFile: resolve(e.GOVERNOR_SIGNING_KEY_FILE) } : {}),
    ...(e.GOVERNOR_ACTION_SECRET ? { actionSecret: e.GOVERNOR_ACTION_SECRET } : {}),
    healthIntervalMs: e.GOVERNOR_HEALTH_INTERVAL_MS,
    healthThreshold: e.GOVERNOR_HEALTH_THRESHOLD,
    lagWindowMs: e.GOVERNOR_LAG_WINDOW_MS,
    drainTimeoutMs: e.GOVERNOR_DRAIN_TIMEOUT_MS,
    redeliveryMs: e.GOVERNOR_REDELIVERY_MS,
    commitIntervalMs: e.GOVERNOR_COMMIT_INTERVAL_MS,
    leaseMs: e.GOVERNOR_LEASE_MS,
    logLevel: e.LOG_LEVEL,
    ...(gcp ? { gcp } : {}),
    signals: kafka ? 'kafka' : gcp ? 'pubsub' : 'in-process',
    ...(kafka ? { kafka } : {}),
  };
}

/**
 * The command line on top of the environment: `--signals pubsub|kafka` (or `--signals=kafka`)
 * is GOVERNOR_SIGNALS. Other arguments are not the configuration's business.
 */
export function envWithFlags(argv: readonly string[], env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  let signals: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--signals') {
      signals = argv[i + 1];
      if (signals === undefined || signals.startsWith('-'))
        throw new ConfigError('--signals needs a value: pubsub or kafka');
      i += 1;
    } else if (arg.startsWith('--signals=')) signals = arg.slice('--signals='.length);
  }
  if (signals === undefined) return env;
  if (signals !== 'pubsub' && signals !== 'kafka')
    throw new ConfigError(`--signals must be pubsub or kafka, got '${signals}'`);
  return { ...env, GOVERNOR_SIGNALS: signals };
}

export const ENVIRONMENT_HELP = `Environment:
  GOVERNOR_BACKEND            local (default: file ledger in GOVERNOR_DATA_DIR, in-process bus)
                              or gcp (Firestore, Pub/Sub, Cloud Storage)
  GOVERNOR_DATA_DIR           local state: stores, spool, development key (default .governor)
  GOVERNOR_WORKER_ID          this worker's id (default local-worker; on gcp w-<hostname>)
  GOVERNOR_SIGNING_KEY_FILE   signing key (PEM or seed); required on Google Cloud, else a
                              development key is created in GOVERNOR_DATA_DIR/keys
  GOVERNOR_PROJECT, GOOGLE_CLOUD_PROJECT, GOVERNOR_BUCKET
                              the Google Cloud project and bucket (default governor-local
                              on the emulators)
  PUBSUB_EMULATOR_HOST, FIRESTORE_EMULATOR_HOST, STORAGE_EMULATOR_HOST
                              emulator addresses: eval "$(bash infra/local/backends.sh env)"
  GOVERNOR_ACTION_SECRET      whsec_<base64> the http action handler signs its calls with
  GOVERNOR_HEALTH_INTERVAL_MS, GOVERNOR_HEALTH_THRESHOLD
                              store probes: every 1000 ms; safe mode after 3 failures
  GOVERNOR_LAG_WINDOW_MS      lag observation window for automatic scaling (10000)
  GOVERNOR_DRAIN_TIMEOUT_MS   how long a cancelled tenant's actions may finish (30000)
  GOVERNOR_STORE_DEADLINE_MS  one Firestore call longer than this counts as a failure (5000)
  GOVERNOR_REDELIVERY_MS      how soon a refused signal comes back (1000)
  GOVERNOR_COMMIT_INTERVAL_MS least time between two commits of one tenant's receipt chain under
                              load; receipts meanwhile ride in the next commit (0: every turn)
  GOVERNOR_LEASE_MS           gcp: tenant lease period; workers share tenants by leases, and a
                              dead worker's tenants are taken over once its leases lapse (10000)
  GOVERNOR_SIGNALS            gcp: where tenant signals travel: pubsub (default) or kafka
                              (control, receipts, tenants, archives, policies and leases stay
                              on Google Cloud); the --signals flag sets the same
  KAFKA_BROKERS               with kafka: bootstrap brokers, host:port[,host:port...]
                              (default 127.0.0.1:9092, the local broker)
  GOVERNOR_KAFKA_NAMESPACE    with kafka: prefix of every topic and consumer group name
                              ({ns}.tenants.{account_id}.signals), for a shared cluster (none)
  LOG_LEVEL                   pino level (info)`;
