import { WorkerId } from '@governor/contracts';
import { z } from 'zod';
import type { GcpConfig } from './gcp-stores';

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

/** The name of the variable a configuration problem is about, and what is wrong with it. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'CONFIG_INVALID';
}

/**
 * The variables `schema` names, read from `env` (an empty value counts as unset) and validated
 * once: the first problem is a ConfigError naming its variable (one line, exit 2 in every main).
 */
export function parseEnv<S extends z.ZodObject>(schema: S, env: NodeJS.ProcessEnv): z.infer<S> {
  const parsed = schema.safeParse(
    Object.fromEntries(Object.entries(env).filter(([k, v]) => k in schema.shape && v !== '')),
  );
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`${String(issue?.path[0])}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

/**
 * The Google Cloud configuration from the environment: the standard emulator variables,
 * `GOVERNOR_PROJECT` (or `GOOGLE_CLOUD_PROJECT`), `GOVERNOR_BUCKET`, `GOVERNOR_WORKER_ID`.
 * With every emulator variable set (what `infra/local/backends.sh env` prints) project and
 * bucket default to `governor-local`; against Google Cloud they must be given.
 */
export function gcpConfigFromEnv(env: NodeJS.ProcessEnv, defaults: { workerId: string }): GcpConfig {
  const e = parseEnv(Env, env);
  const emulated = Boolean(e.PUBSUB_EMULATOR_HOST && e.FIRESTORE_EMULATOR_HOST && e.STORAGE_EMULATOR_HOST);
  const projectId = e.GOVERNOR_PROJECT ?? e.GOOGLE_CLOUD_PROJECT ?? (emulated ? 'governor-local' : undefined);
  const bucket = e.GOVERNOR_BUCKET ?? (emulated ? 'governor-local' : undefined);
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
