import type { Firestore, WriteBatch } from '@google-cloud/firestore';
import { FirestoreLedger } from '@governor/adapters-gcp';
import { ChainWriter, systemClock, type ActionLogEntry, type LedgerEntry } from '@governor/governor';
import { Keyring, SigningKey, sampleFields, verifyLines } from '@governor/receipts';
import { buildEntries, collect } from '@governor/testkit';
import { firestoreProject } from '../support/firestore-project';

const key = SigningKey.fromSeed(Buffer.alloc(32, 7));
const keyring = new Keyring([key.publicEntry('2026-01-01T00:00:00.000Z')]);
/** What Firestore takes in one commit (the emulator takes more, so the writes are counted here). */
const MAX_WRITES_PER_COMMIT = 500;
const CHAIN = 'tenants/acme';
const STARTED = Date.parse('2026-12-01T00:00:00.000Z');

/** Counts the writes of every batch `db` commits, in commit order (a failed commit included). */
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

function action(actionId: string, overrides: Partial<ActionLogEntry> = {}): ActionLogEntry {
  return {
    action_id: actionId,
    kind: 'noop',
    signal_id: `sig-${actionId}`,
    state: 'running',
    deadline_at: STARTED + 500,
    recoverable: true,
    started_at: STARTED,
    ...overrides,
  };
}

/** `count` receipts of the chain, the first `withActions` of them each settling an action of its own. */
function entriesCarrying(
  count: number,
  withActions: number,
): { entries: LedgerEntry[]; head: ReturnType<typeof buildEntries>['head'] } {
  const built = buildEntries(CHAIN, count, key);
  const entries = built.entries.map((e, i) =>
    i < withActions ? { ...e, action: action(`a${i}`, { state: 'complete' }) } : e,
  );
  return { entries, head: built.head };
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
    expect(ledger.maxWritesPerAppend).toBe(MAX_WRITES_PER_COMMIT);
    const writer = await ChainWriter.open(CHAIN, ledger, key, systemClock);
    const emitted = Array.from({ length: 1000 }, (_, i) => writer.emit(sampleFields('acme', i)));
    await Promise.all(emitted.map((e) => e.durable));
    expect(commits).toEqual([500, 500, 3]);
    expect(Math.max(...commits)).toBeLessThanOrEqual(MAX_WRITES_PER_COMMIT);
    const lines = (await collect(ledger.read(CHAIN))).map((r) => JSON.stringify(r));
    expect(await verifyLines(lines, { keyring, threads: 0 })).toMatchObject({ ok: true, count: 1000 });
  });

  it('1,000 receipts each settling an action commit with their action entries in batches of at most 500 writes', async () => {
    const db = env.client();
    const commits = countCommits(db);
    const ledger = new FirestoreLedger({ db, workerId: 'w1' });
    const writer = await ChainWriter.open(CHAIN, ledger, key, systemClock);
    const emitted = Array.from({ length: 1000 }, (_, i) =>
      writer.emit(sampleFields('acme', i), action(`a${i}`, { state: 'complete' })),
    );
    await Promise.all(emitted.map((e) => e.durable));
    expect(Math.max(...commits)).toBeLessThanOrEqual(MAX_WRITES_PER_COMMIT);
    // A receipt and its action entry per emit, a head per commit; 249 emits fill a commit.
    expect(commits.reduce((a, b) => a + b, 0)).toBe(2 * 1000 + commits.length);
    expect(commits).toHaveLength(Math.ceil(1000 / Math.floor((MAX_WRITES_PER_COMMIT - 1) / 2)));
    const lines = (await collect(ledger.read(CHAIN))).map((r) => JSON.stringify(r));
    expect(await verifyLines(lines, { keyring, threads: 0 })).toMatchObject({ ok: true, count: 1000 });
    expect(await ledger.actionsStartedSince(CHAIN, STARTED)).toBe(1000);
    expect(await ledger.runningActions(CHAIN)).toEqual([]);
  });

  it.each([
    ['500 receipts (501 writes with the head)', 500, 0],
    ['250 receipts each carrying an action (501 writes)', 250, 250],
    ['251 receipts, 249 of them carrying an action (501 writes)', 251, 249],
  ])(
    'refuses an append of %s before sending it: a non-retryable invalid argument, nothing written',
    async (_, count, withActions) => {
      const db = env.client();
      const commits = countCommits(db);
      const ledger = new FirestoreLedger({ db, workerId: 'w1' });
      const built = entriesCarrying(count, withActions);
      const refused = await ledger.append(CHAIN, built.entries, built.head).catch((e: unknown) => e);
      expect(refused).toMatchObject({ code: 'LEDGER_UNAVAILABLE', retryable: false });
      expect((refused as Error).message).toMatch(/501 writes, more than the 500 one commit takes/);
      expect((refused as { cause?: unknown }).cause).toMatchObject({ code: 'INVALID_ARGUMENT' });
      expect(commits).toEqual([]);
      expect(await ledger.head(CHAIN)).toBeNull();
      expect(await ledger.actionsStartedSince(CHAIN, STARTED)).toBe(0);
    },
  );

  it.each([
    ['499 receipts', 499, 0],
    ['249 receipts carrying an action and 1 not', 250, 249],
  ])(
    'takes an append of exactly 500 writes (%s and the head) in one commit',
    async (_, count, withActions) => {
      const db = env.client();
      const commits = countCommits(db);
      const ledger = new FirestoreLedger({ db, workerId: 'w1' });
      const built = entriesCarrying(count, withActions);
      await ledger.append(CHAIN, built.entries, built.head);
      expect(commits).toEqual([MAX_WRITES_PER_COMMIT]);
      expect(await ledger.head(CHAIN)).toEqual(built.head);
      expect(await ledger.actionsStartedSince(CHAIN, STARTED)).toBe(withActions);
    },
  );
});

describe('FirestoreLedger action log commits', () => {
  let env: ReturnType<typeof firestoreProject>;
  beforeEach(() => {
    env = firestoreProject('action-commits');
  });
  afterEach(() => env.cleanup());

  it('startActions creates a batch of actions in one commit of only the new ones', async () => {
    const db = env.client();
    const commits = countCommits(db);
    const ledger = new FirestoreLedger({ db, workerId: 'w1' });
    const first = Array.from({ length: 40 }, (_, i) => action(`a${i}`));
    expect(await ledger.startActions(CHAIN, first)).toEqual(first.map(() => true));
    expect(commits).toEqual([40]);
    const again = [action('a3'), action('b1'), action('b2'), action('b1'), action('a39')];
    expect(await ledger.startActions(CHAIN, again)).toEqual([false, true, true, false, false]);
    expect(commits).toEqual([40, 2]);
    // Nothing new: no commit at all.
    expect(await ledger.startActions(CHAIN, [action('a0'), action('b2')])).toEqual([false, false]);
    expect(await ledger.startActions(CHAIN, [])).toEqual([]);
    expect(commits).toEqual([40, 2]);
    expect(await ledger.runningActions(CHAIN)).toHaveLength(42);
  });

  it('startActions and putActions split past 500 writes only', async () => {
    const db = env.client();
    const commits = countCommits(db);
    const ledger = new FirestoreLedger({ db, workerId: 'w1' });
    const many = Array.from({ length: 620 }, (_, i) => action(`a${i}`));
    expect(await ledger.startActions(CHAIN, many)).toEqual(many.map(() => true));
    expect(commits).toEqual([500, 120]);
    await ledger.putActions(
      CHAIN,
      many.slice(0, 500).map((e) => ({ ...e, state: 'complete' as const })),
    );
    expect(commits).toEqual([500, 120, 500]);
    await ledger.putActions(
      CHAIN,
      many.map((e) => ({ ...e, state: 'complete' as const })),
    );
    expect(commits).toEqual([500, 120, 500, 500, 120]);
    expect(await ledger.runningActions(CHAIN)).toEqual([]);
    expect(await ledger.actionsStartedSince(CHAIN, STARTED)).toBe(620);
  });

  it('an append writes an action id it carries twice once, in its latest state', async () => {
    const db = env.client();
    const commits = countCommits(db);
    const ledger = new FirestoreLedger({ db, workerId: 'w1' });
    const built = buildEntries(CHAIN, 3, key);
    const entries = built.entries.map((e, i) =>
      i === 0 ? e : { ...e, action: action('a1', { state: i === 1 ? 'running' : 'rolled_back' }) },
    );
    await ledger.append(CHAIN, entries, built.head);
    expect(commits).toEqual([3 + 1 + 1]);
    expect(await ledger.runningActions(CHAIN)).toEqual([]);
    expect((await db.doc('tenants/acme/actions/a1').get()).get('state')).toBe('rolled_back');
  });

  it('a startActions that loses a race to another writer retries: it commits only what is still missing', async () => {
    const db = env.client();
    const commits = countCommits(db);
    const ledger = new FirestoreLedger({ db, workerId: 'w1' });
    const other = new FirestoreLedger({ db: env.client(), workerId: 'w2' });
    // Another writer creates `race` between this client's read and its commit.
    const getAll = db.getAll.bind(db);
    let reads = 0;
    db.getAll = async (...args: Parameters<Firestore['getAll']>) => {
      const snapshots = await getAll(...args);
      if (reads++ === 0)
        expect(await other.startActions(CHAIN, [action('race', { kind: 'theirs' })])).toEqual([true]);
      return snapshots;
    };
    expect(await ledger.startActions(CHAIN, [action('own'), action('race')])).toEqual([true, false]);
    // The first commit failed whole (a batch of creates is atomic); the second created `own` only.
    expect(commits).toEqual([2, 1]);
    expect(reads).toBe(2);
    const running = await other.runningActions(CHAIN);
    expect(running.sort((a, b) => a.action_id.localeCompare(b.action_id))).toEqual([
      action('own'),
      action('race', { kind: 'theirs' }),
    ]);
  });
});
