import type { Firestore, WriteBatch } from '@google-cloud/firestore';
import { FirestoreLedger } from '@governor/adapters-gcp';
import { ChainWriter, systemClock } from '@governor/governor';
import { Keyring, SigningKey, sampleFields, verifyLines } from '@governor/receipts';
import { buildEntries, collect } from '@governor/testkit';
import { firestoreProject } from '../support/firestore-project';

const key = SigningKey.fromSeed(Buffer.alloc(32, 7));
const keyring = new Keyring([key.publicEntry('2026-01-01T00:00:00.000Z')]);
/** What Firestore takes in one commit (the emulator takes more, so the writes are counted here). */
const MAX_WRITES_PER_COMMIT = 500;

/** Counts the writes of every batch `db` commits, in commit order. */
function countCommits(db: Firestore): number[] {
  const commits: number[] = [];
  const batch = db.batch.bind(db);
  db.batch = () => {
    const b = batch();
    let writes = 0;
    for (const op of ['create', 'set', 'update', 'delete'] as const) {
      const original = (b[op] as (...args: unknown[]) => WriteBatch).bind(b);
      (b as unknown as Record<string, unknown>)[op] = (...args: unknown[]) => {
        writes += 1;
        return original(...args);
      };
    }
    const commit = b.commit.bind(b);
    b.commit = () => {
      commits.push(writes);
      return commit();
    };
    return b;
  };
  return commits;
}

describe('FirestoreLedger within Firestore’s 500 writes per commit', () => {
  let env: ReturnType<typeof firestoreProject>;
  beforeEach(() => {
    env = firestoreProject('commit-limit');
  });
  afterEach(() => env.cleanup());

  it('1,000 receipts emitted in one turn commit in batches of at most 500 writes, head included; the chain verifies', async () => {
    const db = env.client();
    const commits = countCommits(db);
    const ledger = new FirestoreLedger({ db, workerId: 'w1' });
    expect(ledger.maxEntriesPerAppend).toBe(MAX_WRITES_PER_COMMIT - 1);
    const writer = await ChainWriter.open('tenants/acme', ledger, key, systemClock);
    const emitted = Array.from({ length: 1000 }, (_, i) => writer.emit(sampleFields('acme', i)));
    await Promise.all(emitted.map((e) => e.durable));
    expect(commits).toEqual([500, 500, 3]);
    expect(Math.max(...commits)).toBeLessThanOrEqual(MAX_WRITES_PER_COMMIT);
    const lines = (await collect(ledger.read('tenants/acme'))).map((r) => JSON.stringify(r));
    expect(await verifyLines(lines, { keyring, threads: 0 })).toMatchObject({ ok: true, count: 1000 });
  });

  it('refuses an append of 500 receipts before sending it: a non-retryable invalid argument, nothing written', async () => {
    const db = env.client();
    const commits = countCommits(db);
    const ledger = new FirestoreLedger({ db, workerId: 'w1' });
    const built = buildEntries('tenants/acme', MAX_WRITES_PER_COMMIT, key);
    const refused = await ledger.append('tenants/acme', built.entries, built.head).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'LEDGER_UNAVAILABLE', retryable: false });
    expect((refused as Error).message).toMatch(/500 writes of one Firestore commit/);
    expect((refused as { cause?: unknown }).cause).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(commits).toEqual([]);
    expect(await ledger.head('tenants/acme')).toBeNull();
  });
});
