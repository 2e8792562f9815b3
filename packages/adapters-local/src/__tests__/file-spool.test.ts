import { appendFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChainWriter, systemClock, type ActionLogEntry, type LedgerEntry } from '@governor/governor';
import { MemoryLedger } from '@governor/governor/testing';
import { sampleFields, SigningKey, verifyLines } from '@governor/receipts';
import {
  buildEntries,
  collect,
  describeReceiptSpoolContract,
  keyringFor,
  recordLines,
} from '@governor/testkit';
import { FileSpool } from '../file-spool';

describeReceiptSpoolContract('FileSpool', async () => {
  const root = await mkdtemp(join(tmpdir(), 'file-spool-'));
  return {
    spool: new FileSpool(root),
    reopen: () => Promise.resolve(new FileSpool(root)),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
});

const TENANT = 'tenants/acme';

function line(entry: LedgerEntry): string {
  const { body, leaf_hash, signature, key_id } = entry.record;
  const record = { body, leaf_hash, signature, key_id };
  const fields = entry.action ? { seq: entry.seq, record, action: entry.action } : { seq: entry.seq, record };
  return `${JSON.stringify(fields)}\n`;
}

const settled: ActionLogEntry = {
  action_id: 'sig-1-a0',
  kind: 'webhook',
  signal_id: 'sig-1',
  state: 'rolled_back',
  deadline_at: 1_795_000_000_500,
  recoverable: true,
  started_at: 1_795_000_000_000,
  started_seq: 4,
};

describe('FileSpool layout and recovery', () => {
  const key = SigningKey.fromSeed(Buffer.alloc(32, 7));
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'file-spool-layout-'));
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('keeps <root>/<kind>/<owner>/spool.jsonl of {seq, record} lines and head.json; clear removes them', async () => {
    const spool = new FileSpool(root);
    const first = buildEntries(TENANT, 2, key);
    const second = buildEntries(TENANT, 3, key, first.head);
    await spool.append(TENANT, first.entries, first.head);
    await spool.append(TENANT, second.entries, second.head);

    const dir = join(root, 'tenants', 'acme');
    const text = await readFile(join(dir, 'spool.jsonl'), 'utf8');
    expect(text).toBe([...first.entries, ...second.entries].map(line).join(''));
    expect(JSON.parse(await readFile(join(dir, 'head.json'), 'utf8'))).toEqual({
      head: second.head,
      receipts_bytes: Buffer.byteLength(text),
    });
    expect((await readdir(dir)).sort()).toEqual(['head.json', 'spool.jsonl']);

    await spool.clear(TENANT);
    expect(await readdir(join(root, 'tenants'))).toEqual([]);
  });

  it('keeps the action log entry an entry carries, beside its record, through a restart', async () => {
    const spool = new FileSpool(root);
    const built = buildEntries(TENANT, 3, key);
    const entries = built.entries.map((e, i) => (i === 1 ? { ...e, action: settled } : e));
    await spool.append(TENANT, entries, built.head);
    expect(await readFile(join(root, 'tenants', 'acme', 'spool.jsonl'), 'utf8')).toBe(
      entries.map(line).join(''),
    );

    const pending = await new FileSpool(root).pending(TENANT);
    expect(pending?.entries.map((e) => e.action)).toEqual([undefined, settled, undefined]);
    expect(pending?.entries.map((e) => e.record)).toEqual(built.entries.map((e) => e.record));
  });

  it('refuses, spooling nothing, an entry whose action could not be read back', async () => {
    const spool = new FileSpool(root);
    const built = buildEntries(TENANT, 2, key);
    const entries = built.entries.map((e, i) =>
      i === 1 ? { ...e, action: { ...settled, deadline_at: NaN } } : e,
    );
    await expect(spool.append(TENANT, entries, built.head)).rejects.toMatchObject({
      code: 'SPOOL_FAILED',
      retryable: false,
    });
    expect(await spool.pending(TENANT)).toBeNull();
  });

  it('a torn or uncommitted tail (a crash inside an append) is not pending, and the next append cuts it', async () => {
    const spool = new FileSpool(root);
    const built = buildEntries(TENANT, 3, key);
    await spool.append(TENANT, built.entries, built.head);
    const file = join(root, 'tenants', 'acme', 'spool.jsonl');
    // Whole lines of a batch whose head never got written, then half a line.
    const lost = buildEntries(TENANT, 2, key, built.head);
    await appendFile(file, lost.entries.map(line).join('') + '{"seq":5,"rec');

    const restarted = new FileSpool(root);
    expect((await restarted.pending(TENANT))?.head).toEqual(built.head);
    expect((await restarted.pending(TENANT))?.entries).toHaveLength(3);

    // The restarted writer continues from the committed head with other receipts at seqs 3, 4.
    const next = buildEntries(TENANT, 2, key, built.head);
    await restarted.append(TENANT, next.entries, next.head);
    const pending = await restarted.pending(TENANT);
    expect(pending?.entries.map((e) => e.record.body)).toEqual(
      [...built.entries, ...next.entries].map((e) => e.record.body),
    );
    expect(await readFile(file, 'utf8')).toBe([...built.entries, ...next.entries].map(line).join(''));
  });

  it('refuses a batch that does not continue the spool, and changes nothing', async () => {
    const spool = new FileSpool(root);
    const held = buildEntries(TENANT, 3, key);
    await spool.append(TENANT, held.entries, held.head);
    const gap = buildEntries(TENANT, 1, key, held.head);
    const ahead = buildEntries(TENANT, 2, key, gap.head);
    const next = buildEntries(TENANT, 3, key, held.head);
    const [a, , c] = next.entries as [LedgerEntry, LedgerEntry, LedgerEntry];
    const refused: Array<[readonly LedgerEntry[], typeof held.head]> = [
      [ahead.entries, ahead.head],
      [buildEntries(TENANT, 2, key).entries, buildEntries(TENANT, 2, key).head],
      [[a, c], next.head],
      [next.entries, held.head],
      [[], held.head],
      [next.entries, { ...next.head, chain: 'tenants/other' }],
    ];
    for (const [entries, head] of refused) {
      await expect(spool.append(TENANT, entries, head)).rejects.toMatchObject({
        code: 'SPOOL_FAILED',
        retryable: false,
      });
    }
    const pending = await spool.pending(TENANT);
    expect(pending?.head).toEqual(held.head);
    expect(pending?.entries).toHaveLength(3);
  });

  it('refuses chain ids that would leave the root, without touching the disk', async () => {
    const spool = new FileSpool(join(root, 'spool'));
    const built = buildEntries(TENANT, 1, key);
    for (const chain of ['tenants/../../etc', '../acme', 'tenants/Acme', '']) {
      const refused = { code: 'SPOOL_FAILED', retryable: false };
      await expect(spool.append(chain, built.entries, { ...built.head, chain })).rejects.toMatchObject(
        refused,
      );
      await expect(spool.pending(chain)).rejects.toMatchObject(refused);
      await expect(spool.clear(chain)).rejects.toMatchObject(refused);
    }
    expect(await readdir(root)).toEqual([]);
  });

  it('reports a corrupt spool as a non-retryable SPOOL_FAILED naming the file', async () => {
    const spool = new FileSpool(root);
    const built = buildEntries(TENANT, 2, key);
    await spool.append(TENANT, built.entries, built.head);
    const dir = join(root, 'tenants', 'acme');
    await writeFile(join(dir, 'head.json'), '{"head": 1}');
    await expect(spool.pending(TENANT)).rejects.toMatchObject({
      code: 'SPOOL_FAILED',
      retryable: false,
      message: /head\.json/,
    });
    // A committed spool shorter than its head says: lines were lost.
    await spool.clear(TENANT);
    await spool.append(TENANT, built.entries, built.head);
    await writeFile(join(dir, 'spool.jsonl'), line(built.entries[0] as LedgerEntry));
    await expect(spool.pending(TENANT)).rejects.toMatchObject({ code: 'SPOOL_FAILED', retryable: false });
  });

  it('fails with a retryable SPOOL_FAILED when the disk refuses', async () => {
    await writeFile(join(root, 'file'), 'not a directory');
    const spool = new FileSpool(join(root, 'file'));
    const built = buildEntries(TENANT, 1, key);
    await expect(spool.append(TENANT, built.entries, built.head)).rejects.toMatchObject({
      code: 'SPOOL_FAILED',
      retryable: true,
    });
  });

  it('carries a ChainWriter through an outage and a restart: the flushed chain is whole and verifies', async () => {
    const ledger = new MemoryLedger();
    const before = buildEntries(TENANT, 4, key);
    await ledger.append(TENANT, before.entries, before.head);

    const writer = await ChainWriter.open(TENANT, ledger, key, systemClock, { spool: new FileSpool(root) });
    ledger.setOutage('simulated outage');
    for (let seq = 4; seq < 10; seq++) await writer.emit(sampleFields('acme', seq)).durable;
    expect(writer.isSpooling).toBe(true);

    // The process dies; a new one opens the chain after the store is back.
    ledger.setOutage(null);
    const spool = new FileSpool(root);
    const reopened = await ChainWriter.open(TENANT, ledger, key, systemClock, { spool });
    expect(reopened.size).toBe(10);
    expect(await reopened.recover()).toBe(6);
    expect(await spool.pending(TENANT)).toBeNull();
    await reopened.emit(sampleFields('acme', 10)).durable;

    const records = await collect(ledger.read(TENANT));
    expect(records).toHaveLength(11);
    const report = await verifyLines(recordLines(records), {
      keyring: keyringFor(key),
      expectedChain: TENANT,
      threads: 0,
    });
    expect(report.issues).toEqual([]);
    expect((await ledger.head(TENANT))?.size).toBe(11);
  });

  it('flushes the action an outage receipt settles into the ledger with it', async () => {
    const ledger = new MemoryLedger();
    const writer = await ChainWriter.open(TENANT, ledger, key, systemClock, { spool: new FileSpool(root) });
    await writer.startActions([{ ...settled, state: 'running' }]);
    ledger.setOutage('simulated outage');
    await writer.emit(sampleFields('acme', 0)).durable;
    await writer.emit(sampleFields('acme', 1), settled).durable;
    expect(writer.isSpooling).toBe(true);
    expect(await new FileSpool(root).pending(TENANT)).toMatchObject({ entries: [{}, { action: settled }] });

    ledger.setOutage(null);
    const reopened = await ChainWriter.open(TENANT, ledger, key, systemClock, { spool: new FileSpool(root) });
    expect(await reopened.recover()).toBe(2);
    expect((await ledger.head(TENANT))?.size).toBe(2);
    expect(await ledger.runningActions(TENANT)).toEqual([]);
    expect(await ledger.actionsStartedSince(TENANT, settled.started_at ?? 0)).toBe(1);
  });
});
