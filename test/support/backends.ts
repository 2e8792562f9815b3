/**
 * @google-cloud/storage (Node) takes STORAGE_EMULATOR_HOST as its full base URL and then misses
 * the /storage/v1 prefix, so every call 404s. Read it, pass it as apiEndpoint, and remove it.
 */
function storageEndpoint(): string {
  const host = process.env.STORAGE_EMULATOR_HOST;
  delete process.env.STORAGE_EMULATOR_HOST;
  return host ?? `http://127.0.0.1:${process.env.GCS_PORT ?? '4443'}`;
}

/**
 * Where the local backends started by infra/local/backends.sh listen. The same environment
 * variables the script honours (and the standard emulator variables) override the defaults.
 */
export const backends = {
  pubsub: process.env.PUBSUB_EMULATOR_HOST ?? `127.0.0.1:${process.env.PUBSUB_PORT ?? '8085'}`,
  firestore: process.env.FIRESTORE_EMULATOR_HOST ?? `127.0.0.1:${process.env.FIRESTORE_PORT ?? '8086'}`,
  gcs: storageEndpoint(),
  kafka: (process.env.KAFKA_BROKERS ?? `127.0.0.1:${process.env.KAFKA_PORT ?? '9092'}`).split(','),
} as const;

export const projectId = 'governor-local';

/** A name no other test run shares, so tests never see each other's leftovers. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}
