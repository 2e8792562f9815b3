import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileLedger, KEY_FILE, KEYS_FILE } from '@governor/adapters-local';
import { ChainWriter, systemClock, type ReceiptLedger } from '@governor/governor';
import { MemoryLedger, MemoryWitness } from '@governor/governor/testing';
import { Keyring, SigningKey, parseCheckpoint, sampleFields } from '@governor/receipts';
import { checkpointSigner, planTail, storedNotes, TailCheck } from '../export-checkpoint';
import type { ChainSource } from '../stored-chain';
import { CliError } from '../errors';

// export-receipts --checkpoint-out end to end through the built binary (scripts/test.sh builds
// first), on data dirs written here with the real file ledger and chain writer.
const MAIN = join(__dirname, '..', '..', 'dist', 'main.js');
const root = mkdtempSync(join(tmpdir(), 'governor-export-cp-'));
// Each test spawns the binary up to four times (about a second each on a busy machine).
jest.setTimeout(30_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

const CHAIN = 'tenants/acme';
const key = SigningKey.fromSeed(Buffer.alloc(32, 9));
const keyring = new Keyring([key.publicEntry('2020-01-01T00:00:00.000Z')]);

function governor(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const env = { ...process.env };
  delete env.GOVERNOR_SIGNING_KEY_FILE;
  const r = spawnSync(process.execPath, [MAIN, ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 30_000,
    env,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `export-receipts` of acme in data dir `dir` to NAME.jsonl, with its checkpoint in NAME.note. */
const exportWithNote = (dir: string, name: string) =>
  governor(
    'export-receipts',
    '--account-id',
    'acme',
    '--data-dir',
    dir,
    '--out',
    `${name}.jsonl`,
    '--checkpoint-out',
    `${name}.note`,
  );

/** Appends `count` receipts to `chain`, and a stored checkpoint after the first `checkpointAt`. */
async function writeChain(ledger: ReceiptLedger, count: number, checkpointAt: number | null): Promise<void> {
  const writer = await ChainWriter.open(CHAIN, ledger, key, systemClock, { checkpointEvery: 1_000_000 });
  for (let i = 0; i < count; i++) {
    writer.emit(sampleFields('acme', i));
    if (i + 1 === checkpointAt) {
      await writer.flush();
      await writer.checkpoint();
    }
  }
  await writer.flush();
}

/**
 * A data dir of the embedded default: `count` receipts of tenants/acme, a stored checkpoint
 * after `checkpointAt` (none when null), and the signing key in keys/ unless `withKey` is false.
 */
async function dataDir(
  name: string,
  count: number,
  checkpointAt: number | null,
  withKey = true,
): Promise<string> {
  const dir = join(root, name);
  mkdirSync(join(dir, 'keys'), { recursive: true });
  writeFileSync(join(dir, 'keys', KEYS_FILE), keyring.toJson());
  if (withKey) writeFileSync(join(dir, 'keys', KEY_FILE), key.toPem());
  await writeChain(await FileLedger.open(join(dir, 'ledger')), count, checkpointAt);
  return name;
}

const KEYS = join('keys.json');
beforeAll(() => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`pnpm build\` first`);
  writeFileSync(join(root, KEYS), keyring.toJson());
});

const verify = (file: string, note: string) =>
  governor('verify-chain', file, '--keys', KEYS, '--checkpoint', note, '--json');

/** The export without its last line: a cut after the last receipt. */
function cutLast(file: string): string {
  const lines = readFileSync(join(root, file), 'utf8').trimEnd().split('\n');
  const cut = `cut-${file}`;
  writeFileSync(join(root, cut), lines.slice(0, -1).join('\n') + '\n');
  return cut;
}

const lineCount = (file: string) => readFileSync(join(root, file), 'utf8').trimEnd().split('\n').length;
const noteSizeOf = (file: string) => parseCheckpoint(readFileSync(join(root, file), 'utf8')).checkpoint.size;

describe('governor export-receipts --checkpoint-out', () => {
  it('writes the stored checkpoint when it covers the chain; the pair verifies, and a cut after the last receipt is INVALID', async () => {
    const dir = await dataDir('covered', 40, 40);
    const r = exportWithNote(dir, 'a');
    expect(r).toMatchObject({ code: 0, stdout: '' });
    expect(r.stderr).toMatch(
      /^checkpoint: size 40, stored in the ledger in .*, covers all 40 exported receipts$/m,
    );
    expect(lineCount('a.jsonl')).toBe(40);
    expect(noteSizeOf('a.note')).toBe(40);
    expect(JSON.parse(verify('a.jsonl', 'a.note').stdout)).toMatchObject({
      ok: true,
      count: 40,
      checkpoints_verified: 1,
    });
    const cut = verify(cutLast('a.jsonl'), 'a.note');
    expect(cut.code).toBe(1);
    expect(JSON.parse(cut.stdout)).toMatchObject({
      ok: false,
      count: 39,
      issues: [{ code: 'TRUNCATED', seq: 39 }],
    });
  });

  it('signs one on demand with the data dir key when receipts were written after the latest checkpoint', async () => {
    const dir = await dataDir('behind', 50, 30);
    const r = exportWithNote(dir, 'b');
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(
      new RegExp(
        `^checkpoint: size 50, signed on demand now with key ${key.keyId} .*covers all 50 exported receipts; the latest stored one \\(size 30, stored in the ledger in .*\\) matches them$`,
        'm',
      ),
    );
    expect(lineCount('b.jsonl')).toBe(50);
    expect(noteSizeOf('b.note')).toBe(50);
    expect(verify('b.jsonl', 'b.note').code).toBe(0);
    expect(JSON.parse(verify(cutLast('b.jsonl'), 'b.note').stdout)).toMatchObject({
      ok: false,
      issues: [{ code: 'TRUNCATED', seq: 49 }],
    });
    // Read-only: the on-demand checkpoint is not stored in the ledger.
    expect(await (await FileLedger.open(join(root, dir, 'ledger'))).latestCheckpoint(CHAIN)).toMatch(
      /^governor\/tenants\/acme\n30\n/,
    );
  });

  it('signs one on demand for a chain that has no stored checkpoint yet, as JSON too', async () => {
    const dir = await dataDir('never', 12, null);
    const r = governor(
      'export-receipts',
      '--account-id',
      'acme',
      '--data-dir',
      dir,
      '--format',
      'json',
      '--checkpoint-out',
      'c.note',
    );
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toHaveLength(12);
    expect(r.stderr).toMatch(/covers all 12 exported receipts; no checkpoint was stored before$/m);
    expect(noteSizeOf('c.note')).toBe(12);
  });

  it('without a key, stops at the latest stored checkpoint and says how many later receipts were left out', async () => {
    const dir = await dataDir('nokey', 50, 30, false);
    const r = exportWithNote(dir, 'd');
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(
      /^checkpoint: size 30, stored in the ledger in .*, the latest signed one: exported seq 0 to 29 only; 20 later receipts of tenants\/acme \(seq 30 to 49\) were left out, as no signed checkpoint covers them yet and no key is at hand to take one \(no usable signing key at .*\)$/m,
    );
    expect(lineCount('d.jsonl')).toBe(30);
    expect(noteSizeOf('d.note')).toBe(30);
    expect(verify('d.jsonl', 'd.note').code).toBe(0);
    expect(JSON.parse(verify(cutLast('d.jsonl'), 'd.note').stdout)).toMatchObject({
      issues: [{ code: 'TRUNCATED', seq: 29 }],
    });
  });

  it('without a key nor any checkpoint: exit 2 in one line, nothing written', async () => {
    const dir = await dataDir('bare', 5, null, false);
    const r = exportWithNote(dir, 'e');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^governor: no signed checkpoint of tenants\/acme covers any receipt yet, and no key is at hand to take one \(no usable signing key at .*signing-key\.pem \(ENOENT\)\)/,
    );
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(join(root, 'e.jsonl'))).toBe(false);
    expect(existsSync(join(root, 'e.note'))).toBe(false);
  });

  it('a ledger shorter than its signed checkpoint exports with that checkpoint, says TRUNCATED and exits 1', async () => {
    const dir = await dataDir('lost', 20, null);
    // The checkpoint of a longer chain with the same first receipts: what a ledger that lost
    // its tail still holds.
    const longer = new MemoryLedger();
    await writeChain(longer, 25, 25);
    const ledger = await FileLedger.open(join(root, dir, 'ledger'));
    await ledger.putCheckpoint(CHAIN, 25, (await longer.latestCheckpoint(CHAIN)) as string);
    const r = exportWithNote(dir, 'f');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^TRUNCATED the ledger holds 20 receipts of tenants\/acme, but a signed checkpoint stored in .* covers 25/m,
    );
    expect(noteSizeOf('f.note')).toBe(25);
    expect(JSON.parse(verify('f.jsonl', 'f.note').stdout)).toMatchObject({ issues: [{ code: 'TRUNCATED' }] });
  });

  it('never signs on demand over receipts that do not match a stored checkpoint: writes that one and exits 1', async () => {
    const dir = await dataDir('forked', 30, null);
    // A checkpoint at size 10 of another chain history (same key, other receipt ids).
    const other = new MemoryLedger();
    await writeChain(other, 10, 10);
    const ledger = await FileLedger.open(join(root, dir, 'ledger'));
    await ledger.putCheckpoint(CHAIN, 10, (await other.latestCheckpoint(CHAIN)) as string);
    const r = exportWithNote(dir, 'g');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^CHECKPOINT_MISMATCH the checkpoint at size 10 stored in .* does not match: its Merkle root differs/m,
    );
    expect(r.stderr).toMatch(/^checkpoint: none signed on demand/m);
    expect(noteSizeOf('g.note')).toBe(10);
    expect(JSON.parse(verify('g.jsonl', 'g.note').stdout)).toMatchObject({
      issues: [{ code: 'CHECKPOINT_MISMATCH' }],
    });
  });

  it('--help names the option', () => {
    expect(governor('export-receipts', '--help').stdout).toMatch(/--checkpoint-out FILE\.note/);
  });
});

describe('export checkpoints from a ledger and its witness', () => {
  function sourceOf(ledger: ReceiptLedger, witness: MemoryWitness | null): ChainSource {
    return {
      backend: 'gcp',
      ledger,
      witness,
      where: 'Firestore (project test)',
      witnessAt: (chain) => `gs://bucket/checkpoints/${chain}/`,
      failure: (doing, e) => new CliError(`${doing}: ${String(e)}`),
      close: () => Promise.resolve(),
    };
  }

  it('takes the larger of the witnessed and the ledger checkpoints, the witness on a tie, and checks both', async () => {
    const ledger = new MemoryLedger();
    const witness = new MemoryWitness();
    const writer = await ChainWriter.open(CHAIN, ledger, key, systemClock, {
      witness,
      checkpointEvery: 1_000_000,
    });
    for (let i = 0; i < 8; i++) writer.emit(sampleFields('acme', i));
    await writer.flush();
    await writer.checkpoint();
    writer.emit(sampleFields('acme', 8));
    await writer.flush();
    // A checkpoint at 9 stored in the ledger only, as when witnessing it failed.
    await (await ChainWriter.open(CHAIN, ledger, key, systemClock)).checkpoint();
    const notes = await storedNotes(sourceOf(ledger, witness), CHAIN, () => undefined);
    expect(notes.map((n) => [n.size, n.from])).toEqual([
      [8, 'witnessed in gs://bucket/checkpoints/tenants/acme/'],
      [9, 'stored in Firestore (project test)'],
    ]);
    const plan = planTail(CHAIN, 9, notes, null, 'no key');
    expect(plan).toMatchObject({ kind: 'stored', count: 9, note: { size: 9 } });
    const check = new TailCheck(CHAIN, notes);
    for await (const record of ledger.read(CHAIN)) check.push(record);
    expect(check.mismatches).toEqual([]);
  });

  it('a stored checkpoint that does not parse is reported and left out', async () => {
    const ledger = new MemoryLedger();
    await writeChain(ledger, 3, null);
    await ledger.putCheckpoint(CHAIN, 3, 'not a note');
    const warnings: string[] = [];
    expect(await storedNotes(sourceOf(ledger, null), CHAIN, (l) => warnings.push(l))).toEqual([]);
    expect(warnings).toEqual([
      expect.stringMatching(/^warning: the checkpoint stored in Firestore \(project test\) does not parse/),
    ]);
  });

  it('a key its keys.json does not list, or lists as expired, is no key', async () => {
    const dir = join(root, 'keycheck');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, KEY_FILE), key.toPem());
    const now = new Date('2026-06-01T00:00:00Z');
    const env = { GOVERNOR_SIGNING_KEY_FILE: join(dir, KEY_FILE) };
    expect((await checkpointSigner('gcp', undefined, env, now)).signer?.key.keyId).toBe(key.keyId);
    writeFileSync(
      join(dir, KEYS_FILE),
      new Keyring([SigningKey.generate().publicEntry('2020-01-01T00:00:00.000Z')]).toJson(),
    );
    expect(await checkpointSigner('gcp', undefined, env, now)).toMatchObject({
      signer: null,
      why: expect.stringMatching(/is not listed in/),
    });
    writeFileSync(
      join(dir, KEYS_FILE),
      new Keyring([key.publicEntry('2020-01-01T00:00:00.000Z', '2021-01-01T00:00:00.000Z')]).toJson(),
    );
    expect(await checkpointSigner('gcp', undefined, env, now)).toMatchObject({
      signer: null,
      why: expect.stringMatching(/is not valid now/),
    });
    expect(await checkpointSigner('gcp', undefined, {}, now)).toMatchObject({
      signer: null,
      why: 'GOVERNOR_SIGNING_KEY_FILE is not set',
    });
  });
});
