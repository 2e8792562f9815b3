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

export function parseBackend(value: Value): Backend {
  if (value === undefined) return 'local';
  const found = BACKENDS.find((b) => b === value);
  if (found === undefined) throw new CliError(`--backend must be local or gcp, got "${String(value)}"`);
  return found;
}
