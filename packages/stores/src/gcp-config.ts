import type { GcpConfig } from '@governor/adapters-gcp';
import { WorkerId } from '@governor/contracts';
import { z } from 'zod';
import { ConfigError, parseEnv } from './env';

const HostPort = z
  .string()
  .regex(/^[A-Za-z0-9.-]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/, 'expected host:port');

const Env = z.object({
  GOVERNOR_PROJECT: z.string().min(1).optional(),
  GOOGLE_CLOUD_PROJECT: z.string().min(1).optional(),
  GOVERNOR_BUCKET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/, 'expected a bucket name')
    .optional(),
  GOVERNOR_WORKER_ID: WorkerId.optional(),
  PUBSUB_EMULATOR_HOST: HostPort.optional(),
  FIRESTORE_EMULATOR_HOST: HostPort.optional(),
  STORAGE_EMULATOR_HOST: z.url().optional(),
});

/**
 * The Google Cloud configuration from the environment: the standard emulator variables,
 * `GOVERNOR_PROJECT` (or `GOOGLE_CLOUD_PROJECT`), `GOVERNOR_BUCKET`, `GOVERNOR_WORKER_ID`.
 * With every emulator variable set (what `infra/local/backends.sh env` prints) project and
 * bucket default to `governor-local`; against Google Cloud they must be given.
 */
export function gcpConfigFromEnv(env: NodeJS.ProcessEnv, defaults: { workerId: string }): GcpConfig {
  const e = parseEnv(Env, env);
  const projectId =
    e.GOVERNOR_PROJECT ?? e.GOOGLE_CLOUD_PROJECT ?? (isEmulatedEnv(e) ? 'governor-local' : undefined);
  const bucket = e.GOVERNOR_BUCKET ?? (isEmulatedEnv(e) ? 'governor-local' : undefined);
  if (!projectId)
    throw new ConfigError(
      'GOVERNOR_PROJECT is not set: name the Google Cloud project, or run against the emulators (eval "$(infra/local/backends.sh env)")',
    );
  if (!bucket)
    throw new ConfigError(
      'GOVERNOR_BUCKET is not set: name the bucket for archives, policies and checkpoints',
    );
  return {
    projectId,
    bucket,
    workerId: e.GOVERNOR_WORKER_ID ?? defaults.workerId,
    ...(e.PUBSUB_EMULATOR_HOST ? { pubsubEmulatorHost: e.PUBSUB_EMULATOR_HOST } : {}),
    ...(e.FIRESTORE_EMULATOR_HOST ? { firestoreEmulatorHost: e.FIRESTORE_EMULATOR_HOST } : {}),
    ...(e.STORAGE_EMULATOR_HOST ? { storageEmulatorHost: e.STORAGE_EMULATOR_HOST } : {}),
  };
}

const isEmulatedEnv = (e: z.infer<typeof Env>) =>
  Boolean(e.PUBSUB_EMULATOR_HOST && e.FIRESTORE_EMULATOR_HOST && e.STORAGE_EMULATOR_HOST);

/** Whether every Google Cloud store of `config` is an emulator (none of them Google Cloud). */
export function isEmulated(config: GcpConfig): boolean {
  return Boolean(config.firestoreEmulatorHost && config.pubsubEmulatorHost && config.storageEmulatorHost);
}
