import { spawnSync } from 'node:child_process';
import { appendFile, mkdtemp, readFile, rm, stat, truncate, unlink, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { SigningKey, verifyLines } from '@governor/receipts';
import { buildEntries, collect, keyringFor, recordLines, type BuiltEntries } from '@governor/testkit';
import { FileLedger } from '../file-ledger';

// Crashes are simulated by writing the files as a writer would have left them when killed at
// each point of an append: after some of its receipts' bytes, or after all of them but before
// the head's rename.

const CHAIN = 'tenants/acme';
const key = SigningKey.fromSeed(Buffer.alloc(32, 9));

let root: string;
let dir: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'file-ledger-recovery-'));
  dir = join(root, 'tenants', 'acme');
});
afterEach(() => rm(root, { recursive: true, force: true }));

const receiptsFile = () => join(dir, 'receipts.jsonl');
const linesOf = (built: BuiltEntries) => built.entries.map((e) => `${JSON.stringify(e.record)}\n`).join('');

/** A chain of `count` receipts committed normally; returns the batch that made it. */
async function committedChain(count: number): Promise<BuiltEntries> {
  const ledger = await FileLedger.open(root);
  const built = buildEntries(CHAIN, count, key);
  await ledger.append(CHAIN, built.entries, built.head);
  return built;
}

async function expectVerifies(ledger: FileLedger, size: number): Promise<void> {
  const report = await verifyLines(recordLines(await collect(ledger.read(CHAIN))), {
    keyring: keyringFor(key),
    expectedChain: CHAIN,
    threads: 0,
  });
  expect(report.issues).toEqual([]);
  expect(report.count).toBe(size);
}

async function expectContinues(ledger: FileLedger, size: number): Promise<void> {
  const head = await ledger.head(CHAIN);
  expect(head?.size ?? 0).toBe(size);
  const next = buildEntries(CHAIN, 2, key, head ?? undefined);
  await ledger.append(CHAIN, next.entries, next.head);
  expect(await ledger.head(CHAIN)).toEqual(next.head);
  await expectVerifies(ledger, size + 2);
}

describe('FileLedger crash recovery', () => {
  it('commits complete receipts written after the last head (crash between the fsync and the head rename)', async () => {
    const first = await committedChain(4);
    const lost = buildEntries(CHAIN, 3, key, first.head);
    await appendFile(receiptsFile(), linesOf(lost));

    const reopened = await FileLedger.open(root);
    // The head is re-derived from the file, Merkle compact range included.
    expect(await reopened.head(CHAIN)).toEqual(lost.head);
    const headFile = JSON.parse(await readFile(join(dir, 'head.json'), 'utf8')) as { head: unknown };
    expect(headFile.head).toEqual(lost.head);
    await expectVerifies(reopened, 7);
    await expectContinues(reopened, 7);
  });

  it('cuts off a torn last line (crash inside the write) and keeps the committed chain', async () => {
    const first = await committedChain(5);
    const committedBytes = (await stat(receiptsFile())).size;
    const torn = linesOf(buildEntries(CHAIN, 1, key, first.head));
    await appendFile(receiptsFile(), torn.slice(0, Math.floor(torn.length / 2)));

    const reopened = await FileLedger.open(root);
    expect(await reopened.head(CHAIN)).toEqual(first.head);
    expect((await stat(receiptsFile())).size).toBe(committedBytes);
    await expectContinues(reopened, 5);
  });

  it('commits the complete lines and cuts the torn one when a crash left both', async () => {
    const first = await committedChain(2);
    const lost = buildEntries(CHAIN, 6, key, first.head);
    const text = linesOf(lost);
    // Cut inside the fifth line: four complete receipts survive, the fifth is torn.
    const cut = text.split('\n').slice(0, 4).join('\n').length + 1 + 40;
    await appendFile(receiptsFile(), text.slice(0, cut));

    const reopened = await FileLedger.open(root);
    const head = await reopened.head(CHAIN);
    expect(head?.size).toBe(6);
    expect(head?.head_hash).toBe(lost.entries[3]?.record.leaf_hash);
    expect((await readFile(receiptsFile(), 'utf8')).endsWith('\n')).toBe(true);
    await expectVerifies(reopened, 6);
    await expectContinues(reopened, 6);
  });

  it('rebuilds the head from genesis when the first head was never written', async () => {
    const first = await committedChain(3);
    await unlink(join(dir, 'head.json'));
    const torn = linesOf(buildEntries(CHAIN, 1, key, first.head));
    await appendFile(receiptsFile(), torn.slice(0, 10));

    const reopened = await FileLedger.open(root);
    expect(await reopened.head(CHAIN)).toEqual(first.head);
    await expectContinues(reopened, 3);
  });

  it('treats a file holding only a torn first line as an empty chain', async () => {
    await committedChain(1);
    await unlink(join(dir, 'head.json'));
    await truncate(receiptsFile(), 25);

    const reopened = await FileLedger.open(root);
    expect(await reopened.head(CHAIN)).toBeNull();
    expect(await collect(reopened.read(CHAIN))).toEqual([]);
    expect((await stat(receiptsFile())).size).toBe(0);
    await expectContinues(reopened, 0);
  });

  it('recovers on an append too, and then refuses the stale batch of the crashed writer', async () => {
    const first = await committedChain(2);
    const lost = buildEntries(CHAIN, 2, key, first.head);
    await appendFile(receiptsFile(), linesOf(lost));

    // A writer that still believes the head is the committed one gets a conflict, not a fork.
    const reopened = await FileLedger.open(root);
    const stale = buildEntries(CHAIN, 1, key, first.head);
    await expect(reopened.append(CHAIN, stale.entries, stale.head)).rejects.toMatchObject({
      code: 'LEDGER_CONFLICT',
    });
    expect(await reopened.head(CHAIN)).toEqual(lost.head);
  });

  it('refuses, untouched, a file shorter than its committed head', async () => {
    await committedChain(3);
    const length = (await stat(receiptsFile())).size;
    await truncate(receiptsFile(), length - 5);

    const reopened = await FileLedger.open(root);
    await expect(reopened.head(CHAIN)).rejects.toMatchObject({
      code: 'LEDGER_UNAVAILABLE',
      retryable: false,
    });
    expect((await stat(receiptsFile())).size).toBe(length - 5);
  });

  it('refuses, untouched, a complete uncommitted line that does not continue the chain', async () => {
    const first = await committedChain(3);
    const forked = buildEntries(CHAIN, 1, key);
    await appendFile(receiptsFile(), linesOf(forked));
    const length = (await stat(receiptsFile())).size;

    const reopened = await FileLedger.open(root);
    const error: unknown = await reopened.head(CHAIN).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'LEDGER_UNAVAILABLE', retryable: false });
    expect((error as Error).cause).toMatchObject({ code: 'CORRUPT_LEDGER' });
    expect((await stat(receiptsFile())).size).toBe(length);
    expect(JSON.parse(await readFile(join(dir, 'head.json'), 'utf8'))).toMatchObject({ head: first.head });
  });

  it('keeps the fence through recovery: a crash after a claim and a first batch, before its head', async () => {
    const owner = await FileLedger.open(root);
    await owner.claim(CHAIN, 4);
    expect(JSON.parse(await readFile(join(dir, 'head.json'), 'utf8'))).toEqual({
      head: null,
      receipts_bytes: 0,
      fence: 4,
    });
    // The owner's first batch reached the file, then the process died before the head's rename.
    const lost = buildEntries(CHAIN, 3, key);
    await appendFile(receiptsFile(), linesOf(lost));

    const reopened = await FileLedger.open(root);
    expect(await reopened.head(CHAIN)).toEqual(lost.head);
    expect(JSON.parse(await readFile(join(dir, 'head.json'), 'utf8'))).toMatchObject({
      head: lost.head,
      fence: 4,
    });
    await expect(reopened.claim(CHAIN, 3)).rejects.toMatchObject({ code: 'LEDGER_FENCED', retryable: false });
    await reopened.claim(CHAIN, 5);
    await expectContinues(reopened, 3);
    expect(JSON.parse(await readFile(join(dir, 'head.json'), 'utf8'))).toMatchObject({ fence: 5 });
  });

  it('refuses a head.json whose fence is not an epoch, or with no head but receipts, as corruption', async () => {
    await committedChain(2);
    const committed = JSON.parse(await readFile(join(dir, 'head.json'), 'utf8')) as Record<string, unknown>;
    for (const bad of [
      { ...committed, fence: -1 },
      { ...committed, fence: '3' },
      { ...committed, head: null, fence: 3 },
    ]) {
      await writeFile(join(dir, 'head.json'), JSON.stringify(bad));
      const reopened = await FileLedger.open(root);
      await expect(reopened.head(CHAIN)).rejects.toMatchObject({
        code: 'LEDGER_UNAVAILABLE',
        retryable: false,
      });
    }
  });

  it('refuses an unreadable head.json as corruption', async () => {
    await committedChain(2);
    await writeFile(join(dir, 'head.json'), '{"head": ');
    const reopened = await FileLedger.open(root);
    await expect(reopened.head(CHAIN)).rejects.toMatchObject({
      code: 'LEDGER_UNAVAILABLE',
      retryable: false,
    });
  });
});

describe('FileLedger lock file', () => {
  const lockFile = () => join(dir, 'append.lock');
  const lockOf = (pid: number) =>
    JSON.stringify({ pid, host: hostname(), token: 'x', nonce: 'n', acquired_at: new Date().toISOString() });

  it('takes over a lock left by a dead process', async () => {
    const first = await committedChain(2);
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    await writeFile(lockFile(), lockOf(dead));

    const ledger = await FileLedger.open(root);
    const next = buildEntries(CHAIN, 3, key, first.head);
    await ledger.append(CHAIN, next.entries, next.head);
    expect(await ledger.head(CHAIN)).toEqual(next.head);
    await expect(stat(lockFile())).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('waits for a live holder, then fails with a retryable LEDGER_UNAVAILABLE and writes nothing', async () => {
    const first = await committedChain(2);
    // The parent of this test process: alive for as long as the test runs, and not us.
    await writeFile(lockFile(), lockOf(process.ppid));

    const ledger = await FileLedger.open(root, { lockTimeoutMs: 150 });
    const next = buildEntries(CHAIN, 1, key, first.head);
    const started = Date.now();
    const error: unknown = await ledger.append(CHAIN, next.entries, next.head).catch((e: unknown) => e);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(error).toMatchObject({ code: 'LEDGER_UNAVAILABLE', retryable: true });
    expect((error as Error).cause).toMatchObject({ code: 'LOCK_TIMEOUT' });

    await unlink(lockFile());
    await ledger.append(CHAIN, next.entries, next.head);
    expect(await ledger.head(CHAIN)).toEqual(next.head);
  });

  it('takes over a lock that names a reused pid (same pid, another process start)', async () => {
    const first = await committedChain(1);
    const reused = JSON.stringify({
      pid: process.ppid,
      host: hostname(),
      start: '1',
      token: 'x',
      nonce: 'n',
      acquired_at: new Date().toISOString(),
    });
    await writeFile(lockFile(), reused);
    const ledger = await FileLedger.open(root, { lockTimeoutMs: 150 });
    const next = buildEntries(CHAIN, 1, key, first.head);
    if (process.platform === 'linux') {
      await ledger.append(CHAIN, next.entries, next.head);
      expect(await ledger.head(CHAIN)).toEqual(next.head);
    } else {
      // Without /proc the start time is unknown, so the holder counts as alive.
      await expect(ledger.append(CHAIN, next.entries, next.head)).rejects.toMatchObject({ retryable: true });
    }
  });
});
