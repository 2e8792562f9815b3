import { connect } from 'node:net';
import type { GcpConfig, GcpStores, PubSubLog } from '@governor/adapters-gcp';
import type { KafkaBus, KafkaLog } from '@governor/adapters-kafka';
import {
  ConfigError,
  gcpConfigFromEnv,
  isEmulated,
  kafkaBrokersFromEnv,
  openGcpStores,
  openKafkaBus as openBus,
  seedRepoPolicies,
} from '@governor/stores';
import { CliError, firstLine } from './errors';

export const ENV_HINT = 'eval "$(bash infra/local/backends.sh env)"';
const CLI_WORKER_ID = 'governor-cli';

/** What to check when a Google Cloud call fails, on the emulators or in Google Cloud. */
export function gcpHint(config: GcpConfig): string {
  return isEmulated(config)
    ? 'are the emulators up? (bash infra/local/backends.sh status)'
    : 'check GOVERNOR_PROJECT, GOVERNOR_BUCKET, the credentials (gcloud auth application-default login) and the network';
}

/** Wraps a failed Google Cloud call into a one-line CLI error (exit 2) that says what to check. */
export function gcpFailure(config: GcpConfig, doing: string, e: unknown): CliError {
  if (e instanceof CliError) return e;
  return new CliError(`${doing}: ${firstLine(e)}; ${gcpHint(config)}`, 2, { cause: e });
}

/**
 * The worker's Google Cloud configuration from the environment, with `overrides` on top.
 * A bad or missing variable is a one-line usage error.
 */
export function gcpConfig(
  env: NodeJS.ProcessEnv,
  overrides: { workerId?: string; projectId?: string; bucket?: string } = {},
): GcpConfig {
  let config: GcpConfig;
  try {
    config = gcpConfigFromEnv(env, { workerId: overrides.workerId ?? CLI_WORKER_ID });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    const hint = e.message.includes('backends.sh') ? '' : ` (for the local emulators: ${ENV_HINT})`;
    throw new CliError(`--backend gcp: ${firstLine(e)}${hint}`, 2, { cause: e });
  }
  return {
    ...config,
    ...(overrides.projectId !== undefined ? { projectId: overrides.projectId } : {}),
    ...(overrides.bucket !== undefined ? { bucket: overrides.bucket } : {}),
  };
}

/** Resolves when something accepts a TCP connection at host:port, within `ms`. */
function tcpReachable(host: string, port: number, ms: number): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (problem: string | null) => {
      socket.destroy();
      resolve(problem);
    };
    socket.setTimeout(ms, () => done(`no answer within ${ms} ms`));
    socket.once('connect', () => done(null));
    socket.once('error', (e: NodeJS.ErrnoException) => done(e.code ?? e.message));
  });
}

function hostPort(address: string): { host: string; port: number } {
  const url = new URL(address.includes('://') ? address : `http://${address}`);
  const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
  return { host: url.hostname.replace(/^\[|\]$/g, ''), port };
}

/**
 * Fails fast, in one line, when an emulator the configuration names is not listening: the
 * clients themselves would retry an unreachable server for a minute or more.
 */
async function checkEmulators(config: GcpConfig): Promise<void> {
  const emulators = [
    ['Firestore', 'firestore', 'FIRESTORE_EMULATOR_HOST', config.firestoreEmulatorHost],
    ['Pub/Sub', 'pubsub', 'PUBSUB_EMULATOR_HOST', config.pubsubEmulatorHost],
    ['Cloud Storage', 'gcs', 'STORAGE_EMULATOR_HOST', config.storageEmulatorHost],
  ] as const;
  const problems = await Promise.all(
    emulators.map(async ([label, name, variable, address]) => {
      if (address === undefined) return null;
      const { host, port } = hostPort(address);
      const problem = await tcpReachable(host, port, 2_000);
      return problem === null
        ? null
        : `the ${label} emulator at ${address} (${variable}) is not reachable (${problem}): start it with \`bash infra/local/backends.sh up ${name}\`, or fix ${variable}`;
    }),
  );
  const first = problems.find((p) => p !== null);
  if (first) throw new CliError(first);
}

async function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Pub/Sub adapter log lines the CLI shows: warnings and errors, one line each, on stderr. */
export const quietPubSubLog: PubSubLog = (line) => {
  if (line.level !== 'info') process.stderr.write(`governor: pubsub ${line.level}: ${line.msg}\n`);
};

/**
 * Opens every Google Cloud store of `config` (creating the bucket on the emulators), after
 * checking that the emulators it names are listening. Failures are one-line CLI errors.
 */
export async function openGcp(config: GcpConfig): Promise<GcpStores> {
  await checkEmulators(config);
  try {
    return await within(
      20_000,
      `opening bucket ${config.bucket}`,
      openGcpStores({ log: quietPubSubLog, ...config }),
    );
  } catch (e) {
    throw gcpFailure(config, `cannot open the Google Cloud stores of project ${config.projectId}`, e);
  }
}

/** A project (and bucket) name of its own for one demo run: `governor-demo-20260123-141502-3fa9`. */
export function demoProjectId(now = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/\.\d+Z$/, '')
    .replace(/[-:]/g, '')
    .replace('T', '-');
  return `governor-demo-${stamp}-${Math.random().toString(16).slice(2, 6).padEnd(4, '0')}`;
}

/**
 * The demo's Google Cloud stores: on the emulators only, in a project and bucket of the run's
 * own (so every run starts with fresh tenants and a second run never meets the first one's
 * create-once archives and checkpoints), with the repo's policies published to the registry.
 */
export async function openDemoGcp(
  env: NodeJS.ProcessEnv,
  workerId: string,
): Promise<{ stores: GcpStores; config: GcpConfig; seeded: number }> {
  const base = gcpConfig(env, { workerId });
  if (!isEmulated(base))
    throw new CliError(
      `demo --backend gcp runs on the emulators only (it creates a project per run and fake tenants); set PUBSUB_EMULATOR_HOST, FIRESTORE_EMULATOR_HOST and STORAGE_EMULATOR_HOST: ${ENV_HINT}`,
    );
  const project = demoProjectId();
  const config = { ...base, projectId: project, bucket: project };
  const stores = await openGcp(config);
  try {
    const seeded = await within(20_000, 'publishing the policies', seedRepoPolicies(stores.registry));
    return { stores, config, seeded };
  } catch (e) {
    await stores.close();
    throw gcpFailure(config, `cannot publish the repo's policies to gs://${config.bucket}/policies/`, e);
  }
}

/** KAFKA_BROKERS as the worker reads it; a bad value is a one-line usage error. */
export function kafkaBrokers(env: NodeJS.ProcessEnv): string[] {
  try {
    return kafkaBrokersFromEnv(env);
  } catch (e) {
    if (e instanceof ConfigError) throw new CliError(`${e.message} (${ENV_HINT})`, 2, { cause: e });
    throw e;
  }
}

/** Kafka adapter log lines the CLI shows: warnings and errors, one line each, on stderr. */
const quietKafkaLog: KafkaLog = (line) => {
  if (line.level !== 'info') process.stderr.write(`governor: kafka ${line.level}: ${line.msg}\n`);
};

/**
 * A Kafka signal bus on `brokers` whose topics and groups are all prefixed with `namespace`, after
 * checking that a broker is listening (kafkajs itself would retry an unreachable one for a while).
 */
export async function openKafkaBus(brokers: string[], namespace: string): Promise<KafkaBus> {
  const problems = await Promise.all(
    brokers.map((b) => {
      const { host, port } = hostPort(b);
      return tcpReachable(host, port, 2_000);
    }),
  );
  if (problems.every((p) => p !== null))
    throw new CliError(
      `the Kafka broker at ${brokers.join(',')} (KAFKA_BROKERS) is not reachable (${problems[0] ?? ''}): start it with \`bash infra/local/backends.sh up kafka\`, or fix KAFKA_BROKERS`,
    );
  return openBus({ brokers, namespace, clientId: 'governor-cli', log: quietKafkaLog });
}
