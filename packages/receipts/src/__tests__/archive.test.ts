import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import tar from 'tar-stream';
import type { Readable } from 'node:stream';
import type { StoredReceipt } from '@governor/contracts';
import { archiveRecords, Keyring, SigningKey, verifyArchiveFile, writeArchiveFile } from '../index';
import { buildChain, T0 } from './helpers';

const chain = buildChain(50);
let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(join(tmpdir(), 'archive-test-'));
});
afterAll(() => fs.rm(dir, { recursive: true, force: true }));

async function write(name: string): Promise<string> {
  const path = join(dir, name);
  await writeArchiveFile(
    {
      chain: 'tenants/acme',
      records: chain.lines.map((l) => JSON.parse(l) as StoredReceipt),
      checkpoints: [chain.checkpoint],
      keys: chain.keyring.entries(),
      signer: chain.key,
      now: new Date(T0),
    },
    path,
  );
  return path;
}

/** Rewrites one entry of an archive, keeping the others, as an attacker with the file could. */
async function rewrite(
  src: string,
  dst: string,
  change: (name: string, data: Buffer) => Buffer | null,
): Promise<void> {
  const extract = tar.extract();
  const pack = tar.pack();
  const out = pipeline(pack, createGzip(), createWriteStream(dst));
  const reading = pipeline(createReadStream(src), createGunzip(), extract);
  for await (const e of extract) {
    const entry = e as unknown as Readable & { header: { name: string } };
    const chunks: Buffer[] = [];
    for await (const c of entry) chunks.push(c as Buffer);
    const data = change(entry.header.name, Buffer.concat(chunks));
    if (data) pack.entry({ name: entry.header.name, size: data.length }, data);
  }
  await reading;
  pack.finalize();
  await out;
}

describe('archive', () => {
  it('round-trips: what is written verifies offline, with the auditor keys or the archive own keys', async () => {
    const path = await write('ok.tar.gz');
    const report = await verifyArchiveFile(path, { keyring: chain.keyring, threads: 0 });
    expect(report).toMatchObject({
      ok: true,
      keys_source: 'keyring',
      issues: [],
      manifest: { count: 50, first_seq: 0, last_seq: 49, head_hash: chain.head.head_hash },
    });
    expect(report.chain).toMatchObject({ ok: true, checkpoints_verified: 1 });
    // The archive's own keys prove integrity, not authorship: not ok unless trusted explicitly.
    const selfSigned = await verifyArchiveFile(path, { threads: 0 });
    expect(selfSigned).toMatchObject({
      ok: false,
      keys_source: 'archive',
      issues: [expect.objectContaining({ code: 'KEYS_NOT_ANCHORED' })],
    });
    expect((await verifyArchiveFile(path, { threads: 0, trustArchiveKeys: true })).ok).toBe(true);
    const lines: string[] = [];
    for await (const l of archiveRecords(createReadStream(path))) lines.push(l);
    expect(lines).toEqual(chain.lines);
  });

  it('never overwrites an existing archive', async () => {
    const path = await write('once.tar.gz');
    await expect(write('once.tar.gz')).rejects.toMatchObject({ code: 'ARCHIVE_EXISTS' });
    expect((await verifyArchiveFile(path, { keyring: chain.keyring, threads: 0 })).ok).toBe(true);
  });

  it('a tampered receipt is caught by both the chain check and the manifest digest', async () => {
    const src = await write('src1.tar.gz');
    const dst = join(dir, 'bad-receipt.tar.gz');
    await rewrite(src, dst, (name, data) =>
      name === 'receipts.jsonl'
        ? Buffer.from(
            data
              .toString()
              .split('\n')
              .filter((_, i) => i !== 10)
              .join('\n'),
          )
        : data,
    );
    const report = await verifyArchiveFile(dst, { keyring: chain.keyring, threads: 0 });
    expect(report.ok).toBe(false);
    expect(report.chain?.issues.map((i) => [i.code, i.seq])).toContainEqual(['SEQ_GAP', 10]);
    expect(report.issues.map((i) => i.detail)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/receipts.jsonl does not match/),
        expect.stringMatching(/manifest says 50/),
      ]),
    );
  });

  it('a manifest signed by an untrusted key, or edited, is MANIFEST_MISMATCH', async () => {
    const src = await write('src2.tar.gz');
    const dst = join(dir, 'bad-manifest.tar.gz');
    await rewrite(src, dst, (name, data) =>
      name === 'manifest.json' ? Buffer.from(data.toString().replace('"count":50', '"count":51')) : data,
    );
    const report = await verifyArchiveFile(dst, { keyring: chain.keyring, threads: 0 });
    expect(report.issues.map((i) => i.code)).toContain('MANIFEST_MISMATCH');
    expect(report.issues.map((i) => i.detail)).toContain('manifest signature is invalid');

    const other = new Keyring([
      SigningKey.fromSeed(Buffer.alloc(32, 77)).publicEntry('2026-01-01T00:00:00.000Z'),
    ]);
    const untrusted = await verifyArchiveFile(src, { keyring: other, threads: 0 });
    expect(untrusted.ok).toBe(false);
    expect(untrusted.issues.map((i) => i.detail)).toContainEqual(expect.stringMatching(/unknown key/));
    expect(untrusted.chain?.issues[0]?.code).toBe('UNKNOWN_KEY');
  });

  it('a missing checkpoint or an extra file is reported', async () => {
    const src = await write('src3.tar.gz');
    const dst = join(dir, 'missing.tar.gz');
    await rewrite(src, dst, (name, data) => (name.startsWith('checkpoints/') ? null : data));
    const report = await verifyArchiveFile(dst, { keyring: chain.keyring, threads: 0 });
    expect(report.issues.map((i) => i.detail)).toContainEqual(
      expect.stringMatching(/checkpoints\/50.note is listed in the manifest but missing/),
    );
  });

  it('a file that is not an archive is an error, not a verdict', async () => {
    const path = join(dir, 'junk.tar.gz');
    await fs.writeFile(path, 'not gzip');
    await expect(verifyArchiveFile(path)).rejects.toMatchObject({ code: 'INVALID_ARCHIVE' });
  });
});

describe('archive: hostile layouts', () => {
  it('a second receipts.jsonl, or an entry after it, is MANIFEST_MISMATCH', async () => {
    const src = await write('src4.tar.gz');
    const dst = join(dir, 'dup.tar.gz');
    const extract = tar.extract();
    const pack = tar.pack();
    const out = pipeline(pack, createGzip(), createWriteStream(dst));
    const reading = pipeline(createReadStream(src), createGunzip(), extract);
    for await (const e of extract) {
      const entry = e as unknown as Readable & { header: { name: string } };
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(c as Buffer);
      const data = Buffer.concat(chunks);
      pack.entry({ name: entry.header.name, size: data.length }, data);
      if (entry.header.name === 'receipts.jsonl')
        pack.entry({ name: 'receipts.jsonl', size: data.length }, data);
    }
    await reading;
    pack.finalize();
    await out;
    const report = await verifyArchiveFile(dst, { keyring: chain.keyring, threads: 0 });
    expect(report.ok).toBe(false);
    expect(report.issues.map((i) => i.detail)).toEqual(
      expect.arrayContaining([
        'receipts.jsonl appears more than once',
        'receipts.jsonl comes after receipts.jsonl',
      ]),
    );
  });

  it('a malformed manifest is reported, not thrown', async () => {
    const src = await write('src5.tar.gz');
    const dst = join(dir, 'bad-shape.tar.gz');
    await rewrite(src, dst, (name, data) =>
      name === 'manifest.json'
        ? Buffer.from('{"format":"governor-archive/1","files":"abc"}')
        : name === 'manifest.sig'
          ? Buffer.from('{"key_id":"x","signature":5}')
          : data,
    );
    const report = await verifyArchiveFile(dst, { keyring: chain.keyring, threads: 0 });
    expect(report.ok).toBe(false);
    expect(report.issues.map((i) => i.detail)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/manifest.json is malformed/),
        'manifest.sig is malformed',
      ]),
    );
  });

  it('a truncated archive is INVALID_ARCHIVE, with no unhandled rejection and no stuck worker', async () => {
    const src = await write('src6.tar.gz');
    const whole = await fs.readFile(src);
    const cut = join(dir, 'cut.tar.gz');
    await fs.writeFile(cut, whole.subarray(0, Math.floor(whole.length / 2)));
    await expect(verifyArchiveFile(cut, { keyring: chain.keyring, threads: 2 })).rejects.toMatchObject({
      code: 'INVALID_ARCHIVE',
    });
    const lines: string[] = [];
    await expect(
      (async () => {
        for await (const l of archiveRecords(createReadStream(cut))) lines.push(l);
      })(),
    ).rejects.toMatchObject({ code: 'INVALID_ARCHIVE' });
  });
});
