import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SigningKey, verifyLines } from '@governor/receipts';
import { buildEntries, collect, keyringFor, recordLines, seqsOf, spawnTs } from '@governor/testkit';
import type { ActionLogEntry } from '@governor/governor';
import { FileLedger } from '../file-ledger';

const CHAIN = 'tenants/acme';
// The key the child signs with (support/append-until-killed.ts).
const key = SigningKey.fromSeed(Buffer.alloc(32, 13));

interface Killed {
  /** The largest chain size the child saw an append resolve for. */
  readonly acknowledged: number;
  readonly signal: NodeJS.Signals | null;
}

/**
 * Runs the appending child until it has acknowledged `batches` appends, then SIGKILLs it in the
 * middle of whatever a later append is doing: writing, fsyncing, renaming the head.
 */
function appendThenKill(root: string, batches: number, actions = false): Promise<Killed> {
  const child = spawnTs(join(__dirname, 'support', 'append-until-killed.ts'), {
    LEDGER_ROOT: root,
    LEDGER_CHAIN: CHAIN,
    LEDGER_BATCH: '7',
    LEDGER_ACTIONS: actions ? '1' : '0',
  });
  return new Promise((resolve, reject) => {
    let acknowledged = 0;
    let seen = 0;
    let killing = false;
    let pending = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      const lines = (pending + chunk.toString()).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (line.startsWith('start ')) continue;
        acknowledged = Math.max(acknowledged, Number(line));
        seen += 1;
      }
      if (seen >= batches && !killing) {
        killing = true;
        // An append takes a few ms, most of it in fsync: a random pause spreads the kills over
        // all its steps (with the lock held, between the receipts' fsync and the head's rename...).
        setTimeout(() => child.kill('SIGKILL'), Math.random() * 25);
      }
    });
    child.on('error', reject);
    // 'exit' comes after the child has been reaped: its pid is gone when the test reopens.
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve({ acknowledged, signal });
      else reject(new Error(`child exited with ${code ?? signal} before it was killed:\n${stderr}`));
    });
  });
}

describe('FileLedger under SIGKILL', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'file-ledger-sigkill-'));
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('a writer killed mid-append leaves a contiguous chain that verifies, holds every acknowledged batch, and continues', async () => {
    let previous = 0;
    for (let round = 0; round < 3; round++) {
      const killed = await appendThenKill(root, 5);
      expect(killed.signal).toBe('SIGKILL');

      const ledger = await FileLedger.open(root);
      const head = await ledger.head(CHAIN);
      const size = head?.size ?? 0;
      // Durable before acknowledged: nothing the child was told is stored may be missing.
      expect(size).toBeGreaterThanOrEqual(killed.acknowledged);
      expect(size).toBeGreaterThan(previous);
      previous = size;

      const records = await collect(ledger.read(CHAIN));
      expect(seqsOf(records)).toEqual(Array.from({ length: size }, (_, i) => i));
      const report = await verifyLines(recordLines(records), {
        keyring: keyringFor(key),
        expectedChain: CHAIN,
        threads: 0,
      });
      expect(report.issues).toEqual([]);
      expect(report.head_hash).toBe(head?.head_hash);

      // After recovery the files agree again: nothing torn or uncommitted is left.
      const dir = join(root, 'tenants', 'acme');
      const committed = JSON.parse(await readFile(join(dir, 'head.json'), 'utf8')) as {
        receipts_bytes: number;
      };
      expect((await stat(join(dir, 'receipts.jsonl'))).size).toBe(committed.receipts_bytes);
    }

    const ledger = await FileLedger.open(root);
    const head = await ledger.head(CHAIN);
    const next = buildEntries(CHAIN, 3, key, head ?? undefined);
    await ledger.append(CHAIN, next.entries, next.head);
    expect(await ledger.head(CHAIN)).toEqual(next.head);
    const report = await verifyLines(recordLines(await collect(ledger.read(CHAIN))), {
      keyring: keyringFor(key),
      expectedChain: CHAIN,
      threads: 0,
    });
    expect(report).toMatchObject({ ok: true, count: next.head.size });
  }, 30_000);

  it('a writer killed mid-append leaves every action settled exactly when its receipt is in the chain', async () => {
    for (let round = 0; round < 3; round++) {
      const killed = await appendThenKill(root, 5, true);
      const ledger = await FileLedger.open(root);
      const size = (await ledger.head(CHAIN))?.size ?? 0;
      expect(size).toBeGreaterThanOrEqual(killed.acknowledged);
      // `b{seq}` is settled by receipt `seq`: complete once that receipt is in the chain, running
      // (written ahead) while it is not, never anything else.
      const dir = join(root, 'tenants', 'acme');
      const text = await readFile(join(dir, 'actions.jsonl'), 'utf8');
      const latest = new Map<string, ActionLogEntry>();
      for (const line of text.split('\n').filter((l) => l !== '')) {
        const { action } = JSON.parse(line) as { action: ActionLogEntry };
        latest.set(action.action_id, action);
      }
      expect(latest.size).toBeGreaterThan(round * 5);
      for (const a of latest.values())
        expect(a.state).toBe((a.started_at ?? 0) < size ? 'complete' : 'running');
      const running = await ledger.runningActions(CHAIN);
      expect(running.map((a) => a.action_id).sort()).toEqual(
        [...latest.values()]
          .filter((a) => a.state === 'running')
          .map((a) => a.action_id)
          .sort(),
      );
      expect(await ledger.actionsStartedSince(CHAIN, size)).toBe(running.length);
      // After recovery the action log agrees with its head too.
      const committed = JSON.parse(await readFile(join(dir, 'head.json'), 'utf8')) as {
        actions_bytes?: number;
      };
      expect(Buffer.byteLength(text)).toBe(committed.actions_bytes);
    }
  }, 30_000);
});
