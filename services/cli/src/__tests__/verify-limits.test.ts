import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import tar from 'tar-stream';

// Issue 12 item 13, through the built binary: small hostile archives and exports end at once as
// INVALID (exit 1) with a LIMIT_EXCEEDED line saying which bound stopped the reading. Each
// attack is the small form of one measured in the issue, at the default limits.
const MAIN = join(__dirname, '..', '..', 'dist', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'governor-limits-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function governor(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

type Entry = [name: string, data: Buffer];

async function entriesOf(file: string): Promise<Entry[]> {
  const extract = tar.extract();
  const out: Entry[] = [];
  const reading = (async () => {
    for await (const e of extract) {
      const parts: Buffer[] = [];
      for await (const c of e as AsyncIterable<Buffer>) parts.push(c);
      out.push([(e as unknown as { header: { name: string } }).header.name, Buffer.concat(parts)]);
    }
  })();
  extract.end(gunzipSync(readFileSync(join(dir, file))));
  await reading;
  return out;
}

async function writeArchive(file: string, entries: readonly Entry[]): Promise<void> {
  const p = tar.pack();
  const chunks: Buffer[] = [];
  const collecting = (async () => {
    for await (const c of p as AsyncIterable<Buffer>) chunks.push(c);
  })();
  for (const [name, data] of entries) p.entry({ name, size: data.length }, data);
  p.finalize();
  await collecting;
  writeFileSync(join(dir, file), gzipSync(Buffer.concat(chunks), { level: 9 }));
}

let genuine: Entry[];
let receiptId: string;

beforeAll(async () => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`pnpm build\` first`);
  expect(governor('keys', 'generate', '--out', 'keys').code).toBe(0);
  expect(
    governor(
      'receipts',
      'sample',
      '--chain',
      'tenants/acme',
      '--count',
      '20',
      '--keys',
      'keys',
      '--out',
      'chain.jsonl',
      '--archive-out',
      'chain.tar.gz',
    ).code,
  ).toBe(0);
  genuine = await entriesOf('chain.tar.gz');
  const first = readFileSync(join(dir, 'chain.jsonl'), 'utf8').split('\n')[0] as string;
  receiptId = (JSON.parse((JSON.parse(first) as { body: string }).body) as { receipt_id: string }).receipt_id;
});

const receiptArgs = () => ['--receipt-id', receiptId, '--account-id', 'acme', '--keys', 'keys/keys.json'];

describe('verify commands stop at their limits: INVALID, exit 1, one LIMIT_EXCEEDED line', () => {
  it('checkpoint notes over 16 KiB (the 6.5 MB of notes that crashed at 4.3 GB)', async () => {
    await writeArchive(
      'notes.tar.gz',
      genuine.flatMap((e): Entry[] =>
        e[0] === 'receipts.jsonl' ? [['checkpoints/1000.note', Buffer.alloc(16 * 1024 + 1, 0x61)], e] : [e],
      ),
    );
    const archive = governor('verify-archive', 'notes.tar.gz', '--keys', 'keys/keys.json');
    expect(archive.code).toBe(1);
    expect(archive.stdout.split('\n')[0]).toBe(
      'LIMIT_EXCEEDED seq=- checkpoints/1000.note is 16385 bytes, over the 16384 bytes a checkpoint note may have: not read',
    );
    expect(archive.stdout).toMatch(/^INVALID archive: no receipts, 1 issue\(s\)$/m);
    const receipt = governor('verify-receipt', ...receiptArgs(), '--from', 'notes.tar.gz');
    expect(receipt).toMatchObject({ code: 1, stderr: '' });
    expect(receipt.stdout).toMatch(/^LIMIT_EXCEEDED seq=- checkpoints\/1000.note is 16385 bytes/);
    expect(receipt.stdout).toMatch(new RegExp(`^INVALID: receipt ${receiptId}, 1 issue\\(s\\)$`, 'm'));
    const json = JSON.parse(
      governor('verify-receipt', ...receiptArgs(), '--from', 'notes.tar.gz', '--json').stdout,
    );
    expect(json).toMatchObject({ ok: false, issues: [{ code: 'LIMIT_EXCEEDED' }] });
  });

  it('a receipts.jsonl larger than its manifest declares (the 1 MB archive of 1 GiB of short lines)', async () => {
    const bomb = Buffer.alloc(4 * 1024 * 1024, 'x\n');
    await writeArchive(
      'lines.tar.gz',
      genuine.map((e): Entry => (e[0] === 'receipts.jsonl' ? [e[0], bomb] : e)),
    );
    for (const r of [
      governor('verify-archive', 'lines.tar.gz', '--keys', 'keys/keys.json'),
      governor('verify-receipt', ...receiptArgs(), '--from', 'lines.tar.gz'),
    ]) {
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(
        /^LIMIT_EXCEEDED seq=- receipts.jsonl is 4194304 bytes, over the \d+ bytes its manifest declares: not read$/m,
      );
    }
  });

  it('more than 1,004 tar entries (the 1.5 M entries that printed 1.5 M issue lines)', async () => {
    const flood = Array.from({ length: 1_005 }, (_, i): Entry => [`x/${i}`, Buffer.alloc(0)]);
    await writeArchive('entries.tar.gz', [...flood, ...genuine]);
    const archive = governor('verify-archive', 'entries.tar.gz', '--keys', 'keys/keys.json');
    expect(archive.code).toBe(1);
    expect(archive.stdout.split('\n')[0]).toBe(
      'LIMIT_EXCEEDED seq=- more than 1004 entries in the archive: the rest was not read',
    );
    expect(archive.stdout).toMatch(/^… and 4 more issues, not listed$/m);
    expect(archive.stdout.split('\n').length).toBeLessThan(1_010);
    const receipt = governor('verify-receipt', ...receiptArgs(), '--from', 'entries.tar.gz');
    expect(receipt.code).toBe(1);
    expect(receipt.stdout).toMatch(/^LIMIT_EXCEEDED seq=- more than 1004 entries in the archive/);
  });

  it('verify-chain stops after 100,000 issues, listing 1,000 and counting the rest', () => {
    writeFileSync(join(dir, 'junk.jsonl'), 'x\n'.repeat(100_001));
    const r = governor('verify-chain', 'junk.jsonl', '--keys', 'keys/keys.json');
    expect(r.code).toBe(1);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('LIMIT_EXCEEDED seq=- 100000 issues found by line 100000: the rest was not read');
    expect(lines).toHaveLength(1 + 1_000 + 1 + 1);
    expect(lines[lines.length - 2]).toBe('… and 99000 more issues, not listed');
    expect(lines[lines.length - 1]).toMatch(/^INVALID: 100000 receipts .*, 100001 issue\(s\)$/);
  });

  it('verify-chain stops after 1,000 blank lines', () => {
    writeFileSync(
      join(dir, 'blank.jsonl'),
      '\n'.repeat(1_001) + readFileSync(join(dir, 'chain.jsonl'), 'utf8'),
    );
    const r = governor('verify-chain', 'blank.jsonl', '--keys', 'keys/keys.json');
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /^LIMIT_EXCEEDED seq=- more than 1000 blank lines, by line 1001: the rest was not read$/m,
    );
  });
});
