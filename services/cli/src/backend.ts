import { resolve } from 'node:path';
import { dataDirFromEnv } from '@governor/stores';
import type { Value } from './args';
import { CliError } from './errors';

export const BACKENDS = ['local', 'gcp'] as const;
export type Backend = (typeof BACKENDS)[number];

/** The `--backend` flag every command that reads or writes stores takes. */
export const backendOption = { backend: { type: 'string' } } as const;

/** What `--backend` means, in every command's help. */
export const BACKEND_HELP = `--backend local (default) is the embedded default's files; --backend gcp is Firestore, Pub/Sub
  and Cloud Storage, configured like the worker: PUBSUB_EMULATOR_HOST, FIRESTORE_EMULATOR_HOST,
  STORAGE_EMULATOR_HOST (eval "$(bash infra/local/backends.sh env)" for the local emulators),
  GOVERNOR_PROJECT (or GOOGLE_CLOUD_PROJECT), GOVERNOR_BUCKET; both default to governor-local on
  the emulators.`;

/**
 * The embedded default's data dir, the same for every command: `--data-dir`, else
 * GOVERNOR_DATA_DIR, else `.governor` — relative to the caller's directory.
 */
export function dataDirOf(given: Value): string {
  return typeof given === 'string' && given !== '' ? resolve(given) : dataDirFromEnv(process.env);
}

export function parseBackend(value: Value): Backend {
  if (value === undefined) return 'local';
  const found = BACKENDS.find((b) => b === value);
  if (found === undefined) throw new CliError(`--backend must be local or gcp, got "${String(value)}"`);
  return found;
}

export const SIGNALS = ['pubsub', 'kafka'] as const;
export type Signals = (typeof SIGNALS)[number];

/** `--signals`: where tenant signals travel with `--backend gcp` (the demo's). */
export const signalsOption = { signals: { type: 'string' } } as const;

/**
 * `--signals pubsub|kafka`, for `--backend gcp` only: Pub/Sub by default. On the embedded
 * default there is nothing to choose (its signals travel on an in-process bus), so the flag is a
 * one-line usage error there.
 */
export function parseSignals(value: Value, backend: Backend): Signals | undefined {
  if (value === undefined) return backend === 'gcp' ? 'pubsub' : undefined;
  const found = SIGNALS.find((s) => s === value);
  if (found === undefined) throw new CliError(`--signals must be pubsub or kafka, got "${String(value)}"`);
  if (backend !== 'gcp')
    throw new CliError(
      `--signals ${found} needs --backend gcp: on the embedded default (--backend local) signals travel on an in-process bus`,
    );
  return found;
}
