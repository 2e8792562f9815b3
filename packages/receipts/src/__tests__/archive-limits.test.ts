import { createHash } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import type { StoredReceipt } from '@governor/contracts';
import {
  archiveExtras,
  archiveRecords,
  canonicalize,
  DEFAULT_LIMITS,
  MANIFEST_PAYLOAD_TYPE,
  pae,
  verifyArchive,
  writeArchive,
  type ArchiveVerifyOptions,
  type VerifyLimits,
} from '../index';
import { buildChain, T0 } from './helpers';

// Issue 12 item 13: small hostile archives must end quickly as INVALID (LIMIT_EXCEEDED), with
// bounded memory, instead of being read to exhaustion. Each attack is built here in small form.

const chain = buildChain(50);
type Entry = [name: string, data: Buffer];

/** The entries of a genuine archive of `chain`, in order. */
async function genuineEntries(): Promise<Entry[]> {
  const chunks: Buffer[] = [];
  const out = new PassThrough();
  out.on('data', (c: Buffer) => chunks.push(c));
  await writeArchive(
    {
      chain: 'tenants/acme',
      records: chain.lines.map((l) => JSON.parse(l) as StoredReceipt),
      checkpoints: [chain.checkpoint],
      keys: chain.keyring.entries(),
      signer: chain.key,
      now: new Date(T0),
    },
    out,
  );
  const extract = tar.extract();
  const entries: Entry[] = [];
  const reading = (async () => {
    for await (const e of extract) {
      const parts: Buffer[] = [];
      for await (const c of e as AsyncIterable<Buffer>) parts.push(c);
      entries.push([(e as unknown as { header: { name: string } }).header.name, Buffer.concat(parts)]);
    }
  })();
  extract.end(gunzipSync(Buffer.concat(chunks)));
  await reading;
  return entries;
}

/** A tar.gz of `entries`, then `trailing` bytes inside the gzip stream (after the tar's end). */
async function pack(entries: readonly Entry[], trailing = Buffer.alloc(0)): Promise<Buffer> {
  const p = tar.pack();
  const chunks: Buffer[] = [];
  const collecting = (async () => {
    for await (const c of p as AsyncIterable<Buffer>) chunks.push(c);
  })();
  for (const [name, data] of entries) p.entry({ name, size: data.length }, data);
  p.finalize();
  await collecting;
  return gzipSync(Buffer.concat([...chunks, trailing]), { level: 9 });
}

/** A manifest (and its signature, by the chain's key) that declares `files` as given. */
function manifestFor(files: readonly Entry[], count: number): Entry[] {
  const manifest = {
    format: 'governor-archive/1',
    chain: 'tenants/acme',
    count,
    first_seq: 0,
    last_seq: count - 1,
    head_hash: null,
    created_at: new Date(T0).toISOString(),
    files: Object.fromEntries(
      files.map(([name, data]) => [
        name,
        { sha256: createHash('sha256').update(data).digest('hex'), size: data.length },
      ]),
    ),
  };
  const bytes = Buffer.from(canonicalize(manifest));
  const sig = JSON.stringify({
    key_id: chain.key.keyId,
    signature: chain.key.sign(pae(MANIFEST_PAYLOAD_TYPE, bytes)).toString('base64'),
  });
  return [
    ['manifest.json', bytes],
    ['manifest.sig', Buffer.from(sig)],
  ];
}

const get = (entries: readonly Entry[], name: string) => (entries.find(([n]) => n === name) as Entry)[1];

async function verify(archive: Buffer, options: ArchiveVerifyOptions = {}) {
  return verifyArchive(Readable.from([archive]), { keyring: chain.keyring, threads: 0, ...options });
}

/** Every LIMIT_EXCEEDED of a report, archive-level and chain-level. */
function limitsOf(report: Awaited<ReturnType<typeof verify>>): string[] {
  return [...report.issues, ...(report.chain?.issues ?? [])]
    .filter((i) => i.code === 'LIMIT_EXCEEDED')
    .map((i) => i.detail);
}

async function records(archive: Buffer, limits: Partial<VerifyLimits> = {}): Promise<string[]> {
  const out: string[] = [];
  for await (const line of archiveRecords(Readable.from([archive]), { limits })) out.push(line);
  return out;
}

let genuine: Entry[];
beforeAll(async () => {
  genuine = await genuineEntries();
});

describe('archive limits: what an honest archive needs', () => {
  it('a genuine archive verifies, expanding far less than maxExpansion even with no allowance', async () => {
    const archive = await pack(genuine);
    expect(await verify(archive, { limits: { expansionAllowance: 0 } })).toMatchObject({
      ok: true,
      issues: [],
      issues_omitted: 0,
    });
    expect(await records(archive, { expansionAllowance: 0 })).toEqual(chain.lines);
  });

  it('the default limits are those documented', () => {
    expect(DEFAULT_LIMITS).toMatchObject({
      maxNoteBytes: 16 * 1024,
      maxEntries: 1_004,
      maxIssuesListed: 1_000,
      maxIssues: 100_000,
      maxBlankLines: 1_000,
      maxExpansion: 100,
    });
  });
});

describe('archive limits: notes', () => {
  it('a note over maxNoteBytes (default) is refused unread, by verify-archive and by verify-receipt', async () => {
    const huge = Buffer.alloc(16 * 1024 + 1, 0x61);
    const entries = genuine.flatMap((e): Entry[] =>
      e[0] === 'receipts.jsonl' ? [['checkpoints/9999.note', huge], e] : [e],
    );
    const archive = await pack(entries);
    const report = await verify(archive);
    expect(report.ok).toBe(false);
    expect(report.issues[0]).toEqual({
      code: 'LIMIT_EXCEEDED',
      seq: null,
      detail:
        'checkpoints/9999.note is 16385 bytes, over the 16384 bytes a checkpoint note may have: not read',
    });
    await expect(archiveExtras(Readable.from([archive]))).rejects.toMatchObject({
      code: 'LIMIT_EXCEEDED',
      message: expect.stringMatching(/checkpoints\/9999.note is 16385 bytes/),
    });
  });

  it('a note larger than its manifest declares is refused unread', async () => {
    const name = genuine.find(([n]) => n.startsWith('checkpoints/'))?.[0] as string;
    const entries = genuine.map((e): Entry => (e[0] === name ? [name, Buffer.concat([e[1], e[1]])] : e));
    const report = await verify(await pack(entries));
    expect(limitsOf(report)).toEqual([
      expect.stringMatching(
        /^checkpoints\/50.note is \d+ bytes, over the \d+ bytes its manifest declares: not read$/,
      ),
    ]);
  });
});

describe('archive limits: entries', () => {
  const flood = (n: number): Entry[] =>
    Array.from({ length: n }, (_, i): Entry => [`x/${i}`, Buffer.alloc(0)]);

  it('more than maxEntries (default 1,004) entries stop the reading', async () => {
    const archive = await pack(flood(1_004 + 1));
    const report = await verify(archive);
    expect(report.ok).toBe(false);
    expect(limitsOf(report)).toEqual(['more than 1004 entries in the archive: the rest was not read']);
    // Listed issues are capped too: 1,004 unexpected entries are not 1,004 lines of output.
    expect(report.issues.length).toBeLessThanOrEqual(1_000 + 1);
    expect(report.issues.length + report.issues_omitted).toBe(1 + 1_004);
    await expect(archiveExtras(Readable.from([archive]))).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED' });
  });

  it('entries past the bytes the manifest declares stop the reading', async () => {
    const entries = genuine.flatMap((e): Entry[] => (e[0] === 'receipts.jsonl' ? [...flood(2_000), e] : [e]));
    const report = await verify(await pack(entries), { limits: { maxEntries: 10_000 } });
    expect(limitsOf(report)).toEqual([
      expect.stringMatching(/^the archive holds more than the \d+ bytes its manifest declares/),
    ]);
  });

  it('listed archive issues stop at maxIssuesListed and the rest are counted', async () => {
    const report = await verify(await pack(flood(30)), { limits: { maxIssuesListed: 5 } });
    expect(report.issues.filter((i) => i.code === 'MANIFEST_MISMATCH')).toHaveLength(5);
    expect(report.issues_omitted).toBeGreaterThan(25);
  });

  it('an entry name longer than maxEntryNameBytes is refused unread', async () => {
    const report = await verify(await pack([[`${'d/'.repeat(200)}x`, Buffer.from('x')]]));
    expect(limitsOf(report)).toEqual(['an entry name is longer than 255 bytes: not read']);
  });

  it('data past the end of the tar, beyond what the manifest declares, stops the reading', async () => {
    const report = await verify(await pack(genuine, Buffer.alloc(256 * 1024)));
    expect(report.ok).toBe(false);
    expect(report.chain?.ok).toBe(true);
    expect(limitsOf(report)).toEqual([
      expect.stringMatching(/^the archive holds more than the \d+ bytes its manifest declares/),
    ]);
  });
});

describe('archive limits: receipts', () => {
  it('a receipts.jsonl larger than its manifest declares is refused unread (the 1 MB to 1 GiB bomb)', async () => {
    const bomb = Buffer.alloc(256 * 1024, 'x\n');
    const entries = genuine.map((e): Entry => (e[0] === 'receipts.jsonl' ? [e[0], bomb] : e));
    const archive = await pack(entries);
    const report = await verify(archive);
    expect(report).toMatchObject({ ok: false, chain: null });
    expect(limitsOf(report)).toEqual([
      `receipts.jsonl is ${bomb.length} bytes, over the ${get(genuine, 'receipts.jsonl').length} bytes its manifest declares: not read`,
    ]);
    await expect(records(archive)).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED' });
  });

  it('more lines than the manifest declares stop the reading at its count', async () => {
    const receipts = get(genuine, 'receipts.jsonl');
    const keys = get(genuine, 'keys.json');
    const entries: Entry[] = [
      ...manifestFor(
        [
          ['keys.json', keys],
          ['receipts.jsonl', receipts],
        ],
        10,
      ),
      ['keys.json', keys],
      ['receipts.jsonl', receipts],
    ];
    const archive = await pack(entries);
    const report = await verify(archive);
    expect(report.chain).toMatchObject({ ok: false, count: 10 });
    expect(report.chain?.issues[0]).toMatchObject({
      code: 'LIMIT_EXCEEDED',
      detail: 'receipts.jsonl holds more than the 10 lines its manifest declares: the rest was not read',
    });
    await expect(records(archive)).rejects.toMatchObject({
      code: 'LIMIT_EXCEEDED',
      message: 'receipts.jsonl holds more than the 10 lines its manifest declares: the rest was not read',
    });
  });

  it('receipts before a valid manifest are not read at all', async () => {
    const archive = await pack(genuine.filter(([n]) => n !== 'manifest.json'));
    const report = await verify(archive);
    expect(report).toMatchObject({ ok: false, chain: null });
    expect(report.issues.map((i) => i.detail)).toContain(
      'receipts.jsonl comes before a valid manifest.json: its receipts were not read',
    );
    await expect(records(archive)).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED' });
  });

  it('a gzip bomb stops at maxExpansion, even under a manifest that declares it', async () => {
    const bomb = Buffer.alloc(8 * 1024 * 1024, 'x'.repeat(1023) + '\n');
    const keys = get(genuine, 'keys.json');
    const files: Entry[] = [
      ['keys.json', keys],
      ['receipts.jsonl', bomb],
    ];
    const archive = await pack([...manifestFor(files, 8 * 1024), ...files]);
    expect(archive.length).toBeLessThan(64 * 1024);
    const report = await verify(archive, { limits: { expansionAllowance: 1024 * 1024 } });
    expect(report.ok).toBe(false);
    expect(limitsOf(report)).toEqual([expect.stringMatching(/^the archive expands more than 100 times/)]);
    // Stopped well before the 8,192 lines the manifest declares.
    expect(report.chain?.count).toBeLessThan(4096);
  });

  it('verify-receipt reads no more than maxBlankLines lines too short to be a receipt', async () => {
    const junk = Buffer.alloc(64 * 1024, 'x\n');
    const keys = get(genuine, 'keys.json');
    const files: Entry[] = [
      ['keys.json', keys],
      ['receipts.jsonl', junk],
    ];
    const archive = await pack([...manifestFor(files, 32 * 1024), ...files]);
    await expect(records(archive, { maxBlankLines: 100 })).rejects.toMatchObject({
      code: 'LIMIT_EXCEEDED',
      message: 'more than 100 lines too short to be a receipt: the rest was not read',
    });
  });
});
