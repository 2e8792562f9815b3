import {
  appendReceipt,
  emptyHead,
  checkpointOf,
  signCheckpoint,
  verifyLines,
  SigningKey,
  Keyring,
  leafHash,
  canonicalize,
  pae,
  RECEIPT_PAYLOAD_TYPE,
} from '../index';
import { sampleFields } from '../sample';
import { splitLines } from '../lines';
import { buildChain, mutateBody, T0 } from './helpers';

const chain = buildChain(30);
const verify = (lines: string[], extra: Partial<Parameters<typeof verifyLines>[1]> = {}) =>
  verifyLines(lines, { keyring: chain.keyring, threads: 0, ...extra });

/** Re-signs a mutated body with the chain's key and fixes its leaf hash, so only the intended check fires. */
function resign(line: string, key = chain.key): string {
  const record = JSON.parse(line) as { body: string };
  const body = canonicalize(JSON.parse(record.body));
  return JSON.stringify({
    body,
    leaf_hash: leafHash(body).toString('hex'),
    signature: key.sign(pae(RECEIPT_PAYLOAD_TYPE, body)).toString('base64'),
    key_id: key.keyId,
  });
}

function codes(report: Awaited<ReturnType<typeof verify>>): [string, number | null][] {
  return report.issues.map((i) => [i.code, i.seq]);
}

describe('chain verification: one test per issue code', () => {
  it('a valid chain with its checkpoint verifies', async () => {
    const report = await verify(chain.lines, { checkpoints: [chain.checkpoint] });
    expect(report).toMatchObject({
      ok: true,
      count: 30,
      first_seq: 0,
      last_seq: 29,
      head_hash: chain.head.head_hash,
      checkpoints_verified: 1,
      chain: 'tenants/acme',
    });
  });

  it('EMPTY: no receipt at all fails closed, unless an empty chain is expected', async () => {
    expect(codes(await verify([]))).toEqual([['EMPTY', null]]);
    expect(codes(await verify(['', '']))).toEqual([['EMPTY', null]]);
    expect(await verify([], { allowEmpty: true })).toMatchObject({ ok: true, count: 0, issues: [] });
    // A checkpoint that covers receipts still says what is missing.
    expect(codes(await verify([], { checkpoints: [chain.checkpoint], allowEmpty: true }))).toEqual([
      ['TRUNCATED', 0],
    ]);
  });

  it('NON_CANONICAL: body bytes that are valid JSON but not canonical', async () => {
    const lines = [...chain.lines];
    const r = JSON.parse(lines[4] as string) as { body: string };
    lines[4] = JSON.stringify({ ...r, body: r.body.replace('{', '{ ') });
    expect(codes(await verify(lines))).toContainEqual(['NON_CANONICAL', 4]);
  });

  it('SCHEMA_INVALID: a signed, hashed, canonical body missing a field', async () => {
    const lines = [...chain.lines];
    lines[6] = resign(mutateBody(lines[6] as string, (b) => delete b.duration_ms));
    const report = await verify(lines);
    expect(codes(report)).toContainEqual(['SCHEMA_INVALID', 6]);
  });

  it('SCHEMA_INVALID: a line that is not a record', async () => {
    expect(codes(await verify([...chain.lines.slice(0, 3), '{"oops":1}']))).toContainEqual([
      'SCHEMA_INVALID',
      null,
    ]);
    expect(codes(await verify([...chain.lines.slice(0, 3), 'garbage']))).toContainEqual([
      'SCHEMA_INVALID',
      null,
    ]);
  });

  it('HASH_MISMATCH: a stored leaf_hash that is not the hash of the body', async () => {
    const lines = [...chain.lines];
    const r = JSON.parse(lines[2] as string) as Record<string, string>;
    lines[2] = JSON.stringify({ ...r, leaf_hash: '0'.repeat(64) });
    expect(codes(await verify(lines))).toEqual([['HASH_MISMATCH', 2]]);
  });

  it('SIGNATURE_INVALID: a body changed after signing (and the next link breaks)', async () => {
    const lines = [...chain.lines];
    const r = JSON.parse(mutateBody(lines[8] as string, (b) => (b.duration_ms = 999_999))) as {
      body: string;
    };
    const body = canonicalize(JSON.parse(r.body));
    lines[8] = JSON.stringify({ ...r, body, leaf_hash: leafHash(body).toString('hex') });
    expect(codes(await verify(lines))).toEqual([
      ['SIGNATURE_INVALID', 8],
      ['CHAIN_BROKEN', 9],
    ]);
  });

  it('UNKNOWN_KEY: a receipt signed by a key outside the keyring', async () => {
    const stranger = SigningKey.fromSeed(Buffer.alloc(32, 99));
    const lines = [...chain.lines];
    lines[29] = resign(
      mutateBody(lines[29] as string, (b) => (b.key_id = stranger.keyId)),
      stranger,
    );
    expect(codes(await verify(lines))).toEqual([['UNKNOWN_KEY', 29]]);
  });

  it('KEY_NOT_VALID: a receipt dated outside its key window', async () => {
    const keyring = new Keyring([
      chain.key.publicEntry('2026-01-01T00:00:00.000Z', new Date(T0 + 10_000).toISOString()),
    ]);
    const report = await verify(chain.lines, { keyring });
    expect(report.issues.map((i) => i.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 10));
    expect(new Set(report.issues.map((i) => i.code))).toEqual(new Set(['KEY_NOT_VALID']));
  });

  it('CHAIN_BROKEN: prev_hash that does not link, including at genesis', async () => {
    const lines = [...chain.lines];
    lines[0] = resign(mutateBody(lines[0] as string, (b) => (b.prev_hash = 'a'.repeat(64))));
    lines[12] = resign(mutateBody(lines[12] as string, (b) => (b.prev_hash = 'b'.repeat(64))));
    const report = await verify(lines);
    expect(codes(report)).toEqual([
      ['CHAIN_BROKEN', 0],
      ['CHAIN_BROKEN', 1],
      ['CHAIN_BROKEN', 12],
      ['CHAIN_BROKEN', 13],
    ]);
  });

  it('SEQ_GAP: a dropped receipt, reported at the missing seq', async () => {
    const lines = chain.lines.filter((_, i) => i !== 17);
    expect(codes(await verify(lines))).toEqual([['SEQ_GAP', 17]]);
  });

  it('FORK: two different receipts at one seq', async () => {
    const fork = appendReceipt(
      {
        ...emptyHead('tenants/acme'),
        size: 5,
        head_hash: (JSON.parse(chain.lines[4] as string) as { leaf_hash: string }).leaf_hash,
      },
      sampleFields('acme', 5),
      chain.key,
      { now: new Date(T0 + 5000) },
    );
    const lines = [...chain.lines.slice(0, 6), JSON.stringify(fork.record), ...chain.lines.slice(6)];
    expect(codes(await verify(lines))).toContainEqual(['FORK', 5]);
  });

  it('TIMESTAMP_REGRESSION: a receipt dated before its predecessor', async () => {
    const lines = [...chain.lines];
    lines[20] = resign(
      mutateBody(lines[20] as string, (b) => (b.timestamp = new Date(T0 + 1000).toISOString())),
    );
    expect(codes(await verify(lines))).toEqual([
      ['TIMESTAMP_REGRESSION', 20],
      ['CHAIN_BROKEN', 21],
    ]);
  });

  it('ACCOUNT_MISMATCH: a receipt of another chain, or naming another account', async () => {
    const other = buildChain(1, 'globex');
    expect(codes(await verify(chain.lines, { expectedChain: 'tenants/globex' }))[0]).toEqual([
      'ACCOUNT_MISMATCH',
      0,
    ]);
    const lines = [...chain.lines];
    lines[3] = resign(mutateBody(lines[3] as string, (b) => (b.account_id = 'globex')));
    expect(codes(await verify(lines))).toEqual([
      ['ACCOUNT_MISMATCH', 3],
      ['CHAIN_BROKEN', 4],
    ]);
    expect(codes(await verify([...chain.lines, ...other.lines]))).toContainEqual(['ACCOUNT_MISMATCH', 0]);
  });

  it('CHECKPOINT_MISMATCH: a checkpoint whose root, head or signature does not match', async () => {
    const lines = [...chain.lines];
    lines[29] = resign(mutateBody(lines[29] as string, (b) => (b.duration_ms = 1)));
    expect(codes(await verify(lines, { checkpoints: [chain.checkpoint] }))).toEqual([
      ['CHECKPOINT_MISMATCH', 29],
    ]);
    const forged = chain.checkpoint.replace(/\n30\n/, '\n29\n');
    expect(codes(await verify(chain.lines, { checkpoints: [forged] }))).toEqual([
      ['CHECKPOINT_MISMATCH', 28],
    ]);
    expect(codes(await verify(chain.lines, { checkpoints: ['not a note'] }))).toEqual([
      ['CHECKPOINT_MISMATCH', null],
    ]);
  });

  it('TRUNCATED: a chain shorter than its latest checkpoint', async () => {
    const report = await verify(chain.lines.slice(0, 25), { checkpoints: [chain.checkpoint] });
    expect(codes(report)).toEqual([['TRUNCATED', 25]]);
  });

  it('checkpoint mode checks hashes and links but skips per-receipt signatures', async () => {
    const lines = [...chain.lines];
    const r = JSON.parse(lines[3] as string) as Record<string, string>;
    lines[3] = JSON.stringify({ ...r, signature: Buffer.alloc(64).toString('base64') });
    expect((await verify(lines, { mode: 'checkpoint', checkpoints: [chain.checkpoint] })).ok).toBe(true);
    expect(codes(await verify(lines, { mode: 'full' }))).toEqual([['SIGNATURE_INVALID', 3]]);
    const dropped = chain.lines.filter((_, i) => i !== 9);
    expect(codes(await verify(dropped, { mode: 'checkpoint', checkpoints: [chain.checkpoint] }))).toEqual(
      expect.arrayContaining([['SEQ_GAP', 9]]),
    );
  });

  it('checkpoint mode fully checks receipts past the last checkpoint, and everything without one', async () => {
    const stranger = SigningKey.fromSeed(Buffer.alloc(32, 98));
    const extra = appendReceipt(chain.head, sampleFields('acme', 30), stranger, {
      now: new Date(T0 + 31_000),
    });
    const forged = JSON.stringify({ ...extra.record, signature: Buffer.alloc(64).toString('base64') });
    const lines = [...chain.lines, forged];
    expect(codes(await verify(lines, { mode: 'checkpoint', checkpoints: [chain.checkpoint] }))).toEqual([
      ['UNKNOWN_KEY', 30],
    ]);
    const zeroSigned = chain.lines.map((l) =>
      JSON.stringify({ ...(JSON.parse(l) as object), signature: Buffer.alloc(64).toString('base64') }),
    );
    expect((await verify(zeroSigned, { mode: 'checkpoint' })).issues).toHaveLength(30);
  });

  it('a checkpoint with a bad signature vouches for nothing and cannot claim truncation', async () => {
    const bad = chain.checkpoint.replace(/ [A-Za-z0-9+/]+=*\n$/, ` ${Buffer.alloc(68).toString('base64')}\n`);
    const report = await verify(chain.lines.slice(0, 10), { checkpoints: [bad] });
    expect(codes(report)).toEqual([['CHECKPOINT_MISMATCH', 29]]);
  });

  it('a receipt missing in the middle is a SEQ_GAP, not a truncation', async () => {
    const report = await verify(
      chain.lines.filter((_, i) => i !== 20),
      { checkpoints: [chain.checkpoint] },
    );
    expect(codes(report)).toEqual([
      ['SEQ_GAP', 20],
      ['CHECKPOINT_MISMATCH', 29],
    ]);
  });

  it('a line too long for any receipt is reported without being buffered whole', async () => {
    const huge = Buffer.concat([
      Buffer.from(chain.lines[0] + '\n'),
      Buffer.alloc(3 * 1024 * 1024, 0x41),
      Buffer.from('\n' + chain.lines[1] + '\n'),
    ]);
    const chunks = Array.from({ length: Math.ceil(huge.length / 65536) }, (_, i) =>
      huge.subarray(i * 65536, (i + 1) * 65536),
    );
    const report = await verify([], {});
    expect(report.count).toBe(0);
    const lines: string[] = [];
    for await (const l of splitLines(
      (async function* () {
        for (const c of chunks) yield await Promise.resolve(c);
      })(),
    ))
      lines.push(l);
    expect(lines).toHaveLength(3);
    expect(codes(await verify(lines))).toEqual([['SCHEMA_INVALID', null]]);
  });

  it('hostile values in a body are described briefly, never thrown on', async () => {
    const nested = '['.repeat(5000) + '"x"' + ']'.repeat(5000);
    const lines = [...chain.lines];
    const record = JSON.parse(lines[3] as string) as { body: string };
    lines[3] = JSON.stringify({
      ...record,
      body: record.body.replace('"account_id":"acme"', `"account_id":${nested}`),
    });
    const report = await verify(lines);
    expect(report.issues.find((i) => i.code === 'ACCOUNT_MISMATCH')?.detail).toBe(
      'account_id a array does not match chain tenants/acme',
    );
  });

  it('keeps at most maxIssues issues and counts the rest', async () => {
    const report = await verify(
      chain.lines.map((l) =>
        l.replace('"leaf_hash":"', '"leaf_hash":"0').replace(/"leaf_hash":"(.{64}).*?"/, '"leaf_hash":"$1"'),
      ),
      { limits: { maxIssuesListed: 5 } },
    );
    expect(report.issues).toHaveLength(5);
    expect(report.issues_omitted).toBe(25);
    expect(report.ok).toBe(false);
  });

  it('verifies many checkpoints along one chain', async () => {
    const key = chain.key;
    let head = emptyHead('tenants/acme');
    const lines: string[] = [];
    const notes: string[] = [];
    for (let i = 0; i < 50; i++) {
      const a = appendReceipt(head, sampleFields('acme', i), key, { now: new Date(T0 + i) });
      head = a.head;
      lines.push(JSON.stringify(a.record));
      if ((i + 1) % 10 === 0) notes.push(signCheckpoint(checkpointOf(head, new Date(T0 + i)), key));
    }
    expect(await verify(lines, { checkpoints: notes })).toMatchObject({ ok: true, checkpoints_verified: 5 });
  });
});
