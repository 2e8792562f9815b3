import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openGcpStores } from '@governor/adapters-gcp';
import { Keyring, verifyLines } from '@governor/receipts';
import { backends, uniqueName } from './backends';

/** Polls `probe` every 100 ms until it answers something truthy, which it returns; bounded. */
export async function waitUntil<T>(
  what: string,
  probe: () => Promise<T | null | undefined | false> | T | null | undefined | false,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A receipt body as tests look at it. */
export interface Body {
  readonly operation: string;
  readonly [field: string]: unknown;
}

/**
 * One Google Cloud "project" on the emulators per test: its own project, bucket (fake-gcs
 * buckets are global) and data dir; stores opened on it; the environment a worker, `governor
 * start` or the ingress needs for it; and ways to read, wait on and verify its chains.
 */
export async function gcpProject(prefix: string, env: Record<string, string> = {}) {
  const projectId = uniqueName(prefix);
  const bucket = uniqueName('bucket');
  const dataDir = await mkdtemp(join(tmpdir(), `governor-${prefix}-`));
  const stores = await openGcpStores({
    projectId,
    bucket,
    workerId: 'test-harness',
    pubsubEmulatorHost: backends.pubsub,
    firestoreEmulatorHost: backends.firestore,
    storageEmulatorHost: backends.gcs,
  });
  const processEnv: Record<string, string> = {
    GOVERNOR_BACKEND: 'gcp',
    GOVERNOR_PROJECT: projectId,
    GOVERNOR_BUCKET: bucket,
    GOVERNOR_WORKER_ID: 'worker-a',
    GOVERNOR_DATA_DIR: dataDir,
    PUBSUB_EMULATOR_HOST: backends.pubsub,
    FIRESTORE_EMULATOR_HOST: backends.firestore,
    STORAGE_EMULATOR_HOST: backends.gcs,
    GOVERNOR_REDELIVERY_MS: '200',
    ...env,
  };
  const bodies = async (chain: string): Promise<Body[]> => {
    const out: Body[] = [];
    for await (const r of stores.ledger.read(chain)) out.push(JSON.parse(r.body) as Body);
    return out;
  };
  const until = async (what: string, chain: string, done: (b: Body[]) => boolean, timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const b = await bodies(chain);
      if (done(b)) return b;
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${what}; ${chain}: ${b.map((x) => x.operation).join(', ')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  /** The keys the worker signed with (its development key in the data dir). */
  const keyring = async () => Keyring.fromJson(await readFile(join(dataDir, 'keys', 'keys.json'), 'utf8'));
  /** Verifies a stored chain; an empty one is INVALID (EMPTY) unless `allowEmpty` says it is expected. */
  const verify = async (chain: string, options: { allowEmpty?: boolean } = {}) => {
    const lines: string[] = [];
    for await (const r of stores.ledger.read(chain)) lines.push(JSON.stringify(r));
    return verifyLines(lines, { keyring: await keyring(), threads: 0, expectedChain: chain, ...options });
  };
  const cleanup = async () => {
    await stores.close();
    await rm(dataDir, { recursive: true, force: true });
  };
  return { projectId, dataDir, env: processEnv, stores, bodies, until, verify, keyring, cleanup };
}
