import { appendFile, mkdir, mkdtemp, open, readdir, readFile, rm, stat, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ActionLogEntry, LedgerEntry } from '@governor/governor';
import { SigningKey } from '@governor/receipts';
import { buildEntries, collect, type BuiltEntries } from '@governor/testkit';
import { FileLedger } from '../file-ledger';

// The action log's files, and crashes simulated by writing them as a writer killed at each point
// of an append would have left them: after the action lines (fsynced first), after the receipts
// too but before the head's rename, or inside a line.

const CHAIN = 'tenants/acme';
const key = SigningKey.fromSeed(Buffer.alloc(32, 17));

let root: string;
let dir: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'file-ledger-actions-'));
  dir = join(root, 'tenants', 'acme');
});
afterEach(() => rm(root, { recursive: true, force: true }));

function act(actionId: string, overrides: Partial<ActionLogEntry> = {}): ActionLogEntry {
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

const actionsFile = () => join(dir, 'actions.jsonl');
const receiptsFile = () => join(dir, 'receipts.jsonl');
const headJson = async () =>
  JSON.parse(await readFile(join(dir, 'head.json'), 'utf8')) as { head: unknown; actions_bytes?: number };
const sizeOf = async (file: string) => (await stat(file)).size;
const byId = (entries: readonly ActionLogEntry[]) =>
  [...entries].sort((a, b) => (a.action_id < b.action_id ? -1 : a.action_id > b.action_id ? 1 : 0));

/** The line an append writes for an entry's action: tagged with its receipt's seq. */
const taggedLine = (seq: number, action: ActionLogEntry) => `${JSON.stringify({ seq, action })}\n`;
/** The line a write-ahead or a put writes. */
const untaggedLine = (action: ActionLogEntry) => `${JSON.stringify({ action })}\n`;
const receiptLines = (entries: readonly LedgerEntry[]) =>
  entries.map((e) => `${JSON.stringify(e.record)}\n`).join('');

/** `built`'s entries with `actions` riding on the first ones. */
function carrying(built: BuiltEntries, actions: readonly ActionLogEntry[]): LedgerEntry[] {
  return built.entries.map((e, i) => (actions[i] ? { ...e, action: actions[i] } : e));
}

/** A chain of 3 receipts with a1..a3 written ahead, a1 settled by the last receipt. */
async function committed(): Promise<{ ledger: FileLedger; built: BuiltEntries; bytes: number }> {
  const ledger = await FileLedger.open(root);
  await ledger.startActions(CHAIN, [act('a1'), act('a2'), act('a3')]);
  const built = buildEntries(CHAIN, 3, key);
  const entries = built.entries.map((e, i) =>
    i === 2 ? { ...e, action: act('a1', { state: 'complete' }) } : e,
  );
  await ledger.append(CHAIN, entries, built.head);
  return { ledger, built, bytes: await sizeOf(actionsFile()) };
}

describe('FileLedger action log layout', () => {
  it('keeps actions.jsonl beside the receipts: write-ahead lines plain, appended ones tagged with their seq', async () => {
    const ledger = await FileLedger.open(root);
    await ledger.startActions(CHAIN, [act('a1'), act('a2')]);
    // Before any receipt: the log alone is committed, with no head.
    expect(await headJson()).toEqual({
      head: null,
      receipts_bytes: 0,
      actions_bytes: await sizeOf(actionsFile()),
    });
    expect(await ledger.head(CHAIN)).toBeNull();

    const built = buildEntries(CHAIN, 2, key);
    await ledger.append(CHAIN, carrying(built, [act('a2', { state: 'complete' })]), built.head);
    await ledger.putActions(CHAIN, [act('a1', { state: 'escalated' })]);
    expect(await readFile(actionsFile(), 'utf8')).toBe(
      untaggedLine(act('a1')) +
        untaggedLine(act('a2')) +
        taggedLine(0, act('a2', { state: 'complete' })) +
        untaggedLine(act('a1', { state: 'escalated' })),
    );
    expect(await headJson()).toEqual({
      head: built.head,
      receipts_bytes: await sizeOf(receiptsFile()),
      actions_bytes: await sizeOf(actionsFile()),
    });
    expect((await readdir(dir)).sort()).toEqual(['actions.jsonl', 'head.json', 'receipts.jsonl']);
  });

  it('keeps action ids that differ only in case, or hold newlines, quotes and separators, apart', async () => {
    const ledger = await FileLedger.open(root);
    const ids = ['abc', 'ABC', 'line\nbreak', 'line', '"quoted"', 'sep\u2028arator', '{"seq":1}', ''];
    expect(
      await ledger.startActions(
        CHAIN,
        ids.map((id) => act(id)),
      ),
    ).toEqual(ids.map(() => true));
    expect((await readFile(actionsFile(), 'utf8')).split('\n')).toHaveLength(ids.length + 1);
    const reopened = await FileLedger.open(root);
    expect(byId(await reopened.runningActions(CHAIN))).toEqual(byId(ids.map((id) => act(id))));
    expect(await reopened.startActions(CHAIN, [act('ABC'), act('Abc')])).toEqual([false, true]);
  });

  it('refuses, writing nothing, an entry that would not read back', async () => {
    const ledger = await FileLedger.open(root);
    const refused = { code: 'LEDGER_UNAVAILABLE', retryable: false };
    await expect(ledger.startActions(CHAIN, [act('a1', { deadline_at: Number.NaN })])).rejects.toMatchObject(
      refused,
    );
    await expect(
      ledger.putActions(CHAIN, [act('a1'), { ...act('a2'), state: 'paused' as ActionLogEntry['state'] }]),
    ).rejects.toMatchObject(refused);
    const built = buildEntries(CHAIN, 1, key);
    await expect(
      ledger.append(CHAIN, carrying(built, [act('a1', { started_seq: -1 })]), built.head),
    ).rejects.toMatchObject(refused);
    expect(await readdir(root)).toEqual([]);
  });

  it('a reader sees what another client committed since its last read, and parses only that', async () => {
    const reader = await FileLedger.open(root);
    const writer = await FileLedger.open(root);
    await writer.startActions(CHAIN, [act('a1'), act('a2')]);
    expect(await reader.actionsStartedSince(CHAIN, 0)).toBe(0);
    expect(byId(await reader.runningActions(CHAIN))).toEqual([act('a1'), act('a2')]);

    // Damage what the reader has already parsed: it must not read it again.
    const handle = await open(actionsFile(), 'r+');
    await handle.write(Buffer.from('#'), 0, 1, 0);
    await handle.close();
    const built = buildEntries(CHAIN, 1, key);
    await writer.append(
      CHAIN,
      carrying(built, [act('a1', { state: 'complete', started_at: 5 })]),
      built.head,
    );
    await writer.startActions(CHAIN, [act('a3')]);
    expect(byId(await reader.runningActions(CHAIN))).toEqual([act('a2'), act('a3')]);
    expect(await reader.actionsStartedSince(CHAIN, 5)).toBe(1);
    // A client that reads the log afresh finds the damage.
    await expect((await FileLedger.open(root)).runningActions(CHAIN)).rejects.toMatchObject({
      code: 'LEDGER_UNAVAILABLE',
      retryable: false,
    });
  });
});

describe('FileLedger action log crash recovery', () => {
  it('a crash between the action lines and the receipts leaves the log without those actions', async () => {
    const { built, bytes } = await committed();
    const lost = buildEntries(CHAIN, 2, key, built.head);
    await appendFile(
      actionsFile(),
      taggedLine(3, act('a2', { state: 'complete' })) + taggedLine(4, act('a9')),
    );

    const reopened = await FileLedger.open(root);
    expect(byId(await reopened.runningActions(CHAIN))).toEqual([act('a2'), act('a3')]);
    expect(await reopened.head(CHAIN)).toEqual(built.head);
    expect(await sizeOf(actionsFile())).toBe(bytes);
    expect(await reopened.startActions(CHAIN, [act('a9')])).toEqual([true]);
    // The writer's retry of the same batch lands whole.
    await reopened.append(CHAIN, carrying(lost, [act('a2', { state: 'complete' })]), lost.head);
    expect(byId(await reopened.runningActions(CHAIN))).toEqual([act('a3'), act('a9')]);
  });

  it('a crash after the receipts, before head.json, keeps both the receipts and their actions', async () => {
    const { built } = await committed();
    const lost = buildEntries(CHAIN, 2, key, built.head);
    await appendFile(
      actionsFile(),
      taggedLine(3, act('a2', { state: 'rolled_back' })) + taggedLine(4, act('a3', { state: 'complete' })),
    );
    await appendFile(receiptsFile(), receiptLines(lost.entries));

    const reopened = await FileLedger.open(root);
    expect(await reopened.runningActions(CHAIN)).toEqual([]);
    expect(await reopened.head(CHAIN)).toEqual(lost.head);
    expect(await headJson()).toMatchObject({ head: lost.head, actions_bytes: await sizeOf(actionsFile()) });
    expect(await collect(reopened.read(CHAIN))).toHaveLength(5);
  });

  it('keeps the actions of the receipts a torn batch keeps, and cuts from the first receipt it lost', async () => {
    const { built, bytes } = await committed();
    const lost = buildEntries(CHAIN, 3, key, built.head);
    const settled = [act('a2', { state: 'complete' }), act('a3', { state: 'complete' }), act('a9')];
    await appendFile(actionsFile(), settled.map((a, i) => taggedLine(3 + i, a)).join(''));
    // Two receipts whole, the third torn.
    const text = receiptLines(lost.entries);
    await appendFile(receiptsFile(), text.slice(0, text.length - 30));

    const reopened = await FileLedger.open(root);
    expect((await reopened.head(CHAIN))?.size).toBe(5);
    expect(await reopened.runningActions(CHAIN)).toEqual([]);
    expect(await reopened.startActions(CHAIN, [act('a9')])).toEqual([true]);
    const kept =
      bytes +
      Buffer.byteLength(
        taggedLine(3, settled[0] as ActionLogEntry) + taggedLine(4, settled[1] as ActionLogEntry),
      );
    expect((await headJson()).actions_bytes).toBe(kept + Buffer.byteLength(untaggedLine(act('a9'))));
  });

  it('cuts a torn actions line and keeps the committed log', async () => {
    const { bytes } = await committed();
    const torn = untaggedLine(act('a4'));
    await appendFile(actionsFile(), torn.slice(0, torn.length - 5));

    const reopened = await FileLedger.open(root);
    expect(byId(await reopened.runningActions(CHAIN))).toEqual([act('a2'), act('a3')]);
    expect(await sizeOf(actionsFile())).toBe(bytes);
    expect(await reopened.startActions(CHAIN, [act('a4')])).toEqual([true]);
  });

  it('keeps a complete write-ahead line written before the crash, and commits it', async () => {
    const { built } = await committed();
    await appendFile(actionsFile(), untaggedLine(act('a4')));

    const reopened = await FileLedger.open(root);
    expect(byId(await reopened.runningActions(CHAIN))).toEqual([act('a2'), act('a3'), act('a4')]);
    expect(await reopened.startActions(CHAIN, [act('a4')])).toEqual([false]);
    expect(await headJson()).toMatchObject({ head: built.head, actions_bytes: await sizeOf(actionsFile()) });
  });

  it('a write-ahead on a chain with no receipt yet survives the crash of its head write', async () => {
    await mkdir(dir, { recursive: true });
    await appendFile(actionsFile(), untaggedLine(act('a1')) + '{"action":{"act');
    const reopened = await FileLedger.open(root);
    expect(await reopened.runningActions(CHAIN)).toEqual([act('a1')]);
    expect(await reopened.head(CHAIN)).toBeNull();
    expect(await headJson()).toEqual({
      head: null,
      receipts_bytes: 0,
      actions_bytes: Buffer.byteLength(untaggedLine(act('a1'))),
    });
  });

  it('refuses, untouched, an actions file shorter than committed or an uncommitted line that is no entry', async () => {
    const { bytes } = await committed();
    await truncate(actionsFile(), bytes - 3);
    const refused = { code: 'LEDGER_UNAVAILABLE', retryable: false };
    await expect((await FileLedger.open(root)).runningActions(CHAIN)).rejects.toMatchObject(refused);
    expect(await sizeOf(actionsFile())).toBe(bytes - 3);

    await rm(root, { recursive: true, force: true });
    const again = await committed();
    await appendFile(actionsFile(), '{"seq":"x"}\n');
    const reopened = await FileLedger.open(root);
    const error: unknown = await reopened.head(CHAIN).catch((e: unknown) => e);
    expect(error).toMatchObject(refused);
    expect((error as Error).cause).toMatchObject({ code: 'CORRUPT_LEDGER' });
    expect(await sizeOf(actionsFile())).toBe(again.bytes + 12);
  });
});
