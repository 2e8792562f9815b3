import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SigningKey } from '@governor/receipts';
import { buildEntries, collect, describeReceiptLedgerContract } from '@governor/testkit';
import { FileLedger } from '../file-ledger';

describeReceiptLedgerContract('FileLedger', async () => {
  const root = await mkdtemp(join(tmpdir(), 'file-ledger-'));
  return {
    ledger: await FileLedger.open(root),
    // A second FileLedger on the same root has its own in-process mutex, so races between the
    // two are decided by the lock file alone, as between two processes.
    peer: () => FileLedger.open(root),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
});

describe('FileLedger layout', () => {
  const key = SigningKey.fromSeed(Buffer.alloc(32, 5));
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'file-ledger-layout-'));
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('keeps a chain in <root>/<kind>/<owner>/: receipts.jsonl with one exact record per line, head.json, checkpoints', async () => {
    const ledger = await FileLedger.open(root);
    const first = buildEntries('tenants/acme', 3, key);
    const second = buildEntries('tenants/acme', 2, key, first.head);
    await ledger.append('tenants/acme', first.entries, first.head);
    await ledger.append('tenants/acme', second.entries, second.head);
    await ledger.putCheckpoint('tenants/acme', 5, 'note\n');

    const dir = join(root, 'tenants', 'acme');
    const text = await readFile(join(dir, 'receipts.jsonl'), 'utf8');
    const expected = [...first.entries, ...second.entries].map(({ record }) =>
      JSON.stringify({
        body: record.body,
        leaf_hash: record.leaf_hash,
        signature: record.signature,
        key_id: record.key_id,
      }),
    );
    expect(text).toBe(expected.map((l) => `${l}\n`).join(''));
    const headFile = JSON.parse(await readFile(join(dir, 'head.json'), 'utf8')) as unknown;
    expect(headFile).toEqual({ head: second.head, receipts_bytes: Buffer.byteLength(text) });
    expect(await readFile(join(dir, 'checkpoints', '5.note'), 'utf8')).toBe('note\n');
    // No lock or temporary file is left behind once appends have resolved.
    expect((await readdir(dir)).sort()).toEqual(['checkpoints', 'head.json', 'receipts.jsonl']);
  });

  it("keeps the chain's fence in head.json beside the head, and every append carries it", async () => {
    const ledger = await FileLedger.open(root);
    const headFile = join(root, 'tenants', 'acme', 'head.json');
    await ledger.claim('tenants/acme', 3);
    expect(JSON.parse(await readFile(headFile, 'utf8'))).toEqual({ head: null, receipts_bytes: 0, fence: 3 });
    expect(await ledger.head('tenants/acme')).toBeNull();
    const first = buildEntries('tenants/acme', 2, key);
    await ledger.append('tenants/acme', first.entries, first.head);
    expect(JSON.parse(await readFile(headFile, 'utf8'))).toMatchObject({ head: first.head, fence: 3 });
    // An unclaimed client's append keeps the fence too.
    const second = buildEntries('tenants/acme', 1, key, first.head);
    await (await FileLedger.open(root)).append('tenants/acme', second.entries, second.head);
    expect(JSON.parse(await readFile(headFile, 'utf8'))).toMatchObject({ head: second.head, fence: 3 });
    // A chain never claimed has no fence field at all (the format of earlier versions).
    const worker = buildEntries('workers/worker-1', 1, key);
    await ledger.append('workers/worker-1', worker.entries, worker.head);
    expect(
      Object.keys(
        JSON.parse(await readFile(join(root, 'workers', 'worker-1', 'head.json'), 'utf8')) as object,
      ),
    ).toEqual(['head', 'receipts_bytes']);
  });

  it('puts worker chains under workers/', async () => {
    const ledger = await FileLedger.open(root);
    const built = buildEntries('workers/worker-1', 1, key);
    await ledger.append('workers/worker-1', built.entries, built.head);
    expect(await readdir(join(root, 'workers', 'worker-1'))).toContain('receipts.jsonl');
  });

  it('refuses chain ids that would leave the root, without touching the disk', async () => {
    const ledger = await FileLedger.open(root);
    const built = buildEntries('tenants/acme', 1, key);
    for (const chain of ['tenants/../../etc', '../acme', 'tenants/acme/x', 'tenants/Acme', '']) {
      await expect(ledger.append(chain, built.entries, built.head)).rejects.toMatchObject({
        code: 'LEDGER_UNAVAILABLE',
        retryable: false,
      });
      await expect(ledger.head(chain)).rejects.toMatchObject({ retryable: false });
      await expect(collect(ledger.read(chain))).rejects.toMatchObject({ retryable: false });
      await expect(ledger.putCheckpoint(chain, 1, 'x')).rejects.toMatchObject({ retryable: false });
    }
    expect(await readdir(root)).toEqual([]);
  });

  it('probe writes and reads back a file under <root>/health/ and leaves nothing behind', async () => {
    const ledger = await FileLedger.open(root);
    await Promise.all([ledger.probe(), ledger.probe(), ledger.probe()]);
    expect(await readdir(join(root, 'health'))).toEqual([]);
  });

  it('probe fails with a retryable LEDGER_UNAVAILABLE when the root is gone', async () => {
    const ledger = await FileLedger.open(join(root, 'inner'));
    await rm(join(root, 'inner'), { recursive: true });
    // A file where the root should be: nothing can be created under it.
    await import('node:fs/promises').then((fs) => fs.writeFile(join(root, 'inner'), 'not a directory'));
    await expect(ledger.probe()).rejects.toMatchObject({ code: 'LEDGER_UNAVAILABLE', retryable: true });
  });

  it('reads from any seq of a long chain, in and across index strides', async () => {
    const ledger = await FileLedger.open(root);
    let head = buildEntries('tenants/acme', 0, key).head;
    const bodies: string[] = [];
    for (let i = 0; i < 6; i++) {
      const built = buildEntries('tenants/acme', 100, key, head);
      await ledger.append('tenants/acme', built.entries, built.head);
      bodies.push(...built.entries.map((e) => e.record.body));
      head = built.head;
    }
    // A fresh ledger knows no offsets; the first read learns them, later ones use them.
    const fresh = await FileLedger.open(root);
    for (const afterSeq of [598, 255, 256, 511, -1, 300]) {
      const read = await collect(fresh.read('tenants/acme', { afterSeq, limit: 3 }));
      expect(read.map((r) => r.body)).toEqual(bodies.slice(afterSeq + 1, afterSeq + 4));
    }
  });
});
