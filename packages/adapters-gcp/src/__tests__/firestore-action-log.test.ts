import type { DocumentReference, Firestore } from '@google-cloud/firestore';
import type { ActionLogEntry, GovernorError } from '@governor/governor';
import { actionDocId, actionFields, FirestoreActionLog, latestPerAction } from '../firestore-action-log';
import { DeadlineError, GrpcCode } from '../firestore-errors';

function action(actionId: string, overrides: Partial<ActionLogEntry> = {}): ActionLogEntry {
  return {
    action_id: actionId,
    kind: 'noop',
    signal_id: `sig-${actionId}`,
    state: 'running',
    deadline_at: 1_795_000_000_000,
    recoverable: true,
    ...overrides,
  };
}

describe('actionDocId', () => {
  const ids = [
    'sig-1-a0',
    'with/slash and space:colon-a0',
    '../../etc/passwd-a1',
    '.',
    '..',
    '__reserved__',
    'a%2Fb',
    'a/b',
    'a.b',
    'a%2Eb',
    'a_b',
    'a%5Fb',
    'Ünïcødé-✓-a2',
  ];

  it.each(ids)('gives %j a document id Firestore takes', (id) => {
    const docId = actionDocId(id);
    expect(docId).not.toMatch(/[/.]/);
    expect(docId).not.toMatch(/^__.*__$/);
    expect(docId.length).toBeGreaterThan(0);
  });

  it('gives different action ids different document ids, and keeps plain ids as they are', () => {
    expect(new Set(ids.map(actionDocId)).size).toBe(ids.length);
    expect(actionDocId('sig-1-a0')).toBe('sig-1-a0');
    expect(decodeURIComponent(actionDocId('a/b.c_d'))).toBe('a/b.c_d');
  });
});

describe('actionFields', () => {
  it('keeps the fields of an entry and drops those left undefined (Firestore refuses them)', () => {
    const entry = { ...action('a1', { started_at: 5, started_seq: 0 }), extra: 'x' } as ActionLogEntry;
    expect(actionFields(entry)).toEqual(action('a1', { started_at: 5, started_seq: 0 }));
    const partial = { ...action('a2'), started_at: undefined } as unknown as ActionLogEntry;
    expect(actionFields(partial)).toEqual(action('a2'));
    expect('started_at' in actionFields(partial)).toBe(false);
  });
});

describe('latestPerAction', () => {
  it('keeps the last entry of each action id, in first-seen order', () => {
    const entries = [
      action('a1'),
      action('a2'),
      action('a1', { state: 'complete' }),
      action('a3'),
      action('a2', { state: 'rolled_back' }),
    ];
    expect(latestPerAction(entries)).toEqual([
      action('a1', { state: 'complete' }),
      action('a2', { state: 'rolled_back' }),
      action('a3'),
    ]);
  });
});

/** A Firestore stand-in whose reads find nothing and whose commits do what `commit` says. */
function fakeStore(commit: () => Promise<unknown>) {
  const commits: string[][] = [];
  const ref = (id: string) => ({ id });
  const chainDoc = { collection: () => ({ doc: ref }) } as unknown as DocumentReference;
  const db = {
    getAll: (...refs: unknown[]) => Promise.resolve(refs.map(() => ({ exists: false }))),
    batch: () => {
      const ids: string[] = [];
      const batch = {
        create: (r: { id: string }) => ids.push(r.id),
        set: (r: { id: string }) => ids.push(r.id),
        commit: () => {
          commits.push(ids);
          return commit();
        },
      };
      return batch;
    },
  } as unknown as Firestore;
  return { db, chainDoc, commits };
}

const grpc = (code: number) => Object.assign(new Error(`status ${code}`), { code });

describe('FirestoreActionLog errors', () => {
  it.each([
    ['an unavailable store', grpc(GrpcCode.UNAVAILABLE), true],
    ['a refused request', grpc(GrpcCode.INVALID_ARGUMENT), false],
  ])('startActions reports %s as the ledger does (retryable: %s)', async (_, error, retryable) => {
    const { db, chainDoc } = fakeStore(() => Promise.reject(error));
    const log = new FirestoreActionLog({ db, deadlineMs: 1_000 });
    await expect(log.start('tenants/acme', chainDoc, [action('a1')])).rejects.toMatchObject({
      code: 'LEDGER_UNAVAILABLE',
      retryable,
      cause: error,
    });
  });

  it('a commit that misses its deadline is a retryable outage', async () => {
    const { db, chainDoc } = fakeStore(() => new Promise(() => undefined));
    const log = new FirestoreActionLog({ db, deadlineMs: 20 });
    const failed = await log.put('tenants/acme', chainDoc, [action('a1')]).catch((e: unknown) => e);
    expect(failed).toMatchObject({ code: 'LEDGER_UNAVAILABLE', retryable: true });
    expect((failed as GovernorError).cause).toBeInstanceOf(DeadlineError);
  });

  it('gives up retryably when every attempt loses a race to another writer', async () => {
    const { db, chainDoc, commits } = fakeStore(() => Promise.reject(grpc(GrpcCode.ALREADY_EXISTS)));
    const log = new FirestoreActionLog({ db, deadlineMs: 1_000 });
    await expect(log.start('tenants/acme', chainDoc, [action('a1'), action('a2')])).rejects.toMatchObject({
      code: 'LEDGER_UNAVAILABLE',
      retryable: true,
    });
    expect(commits).toEqual(Array.from({ length: 5 }, () => ['a1', 'a2']));
  });
});
