import { ChainVerifier, parseCheckpoint, verifyLines, type VerifyLimits, type VerifyOptions } from '../index';
import { buildChain } from './helpers';

// Issue 12 item 13: a verifier's work and memory are bounded whatever the lines and notes it
// is fed; a bound crossed stops it with LIMIT_EXCEEDED (listed first) and an INVALID verdict.

const chain = buildChain(30);
const verify = (lines: Iterable<string>, extra: Partial<VerifyOptions> = {}) =>
  verifyLines(lines, { keyring: chain.keyring, threads: 0, ...extra });
const limited = (limits: Partial<VerifyLimits>) => ({ limits });

function* repeat(line: string, n: number): Generator<string> {
  for (let i = 0; i < n; i++) yield line;
}

describe('verifier limits: lines', () => {
  it('stops after maxIssues (default 100,000), listing maxIssuesListed (default 1,000)', async () => {
    let fed = 0;
    const lines = (function* () {
      for (; fed < 150_000; fed++) yield 'x';
    })();
    const report = await verify(lines);
    expect(report.ok).toBe(false);
    expect(report.issues[0]).toEqual({
      code: 'LIMIT_EXCEEDED',
      seq: null,
      detail: '100000 issues found by line 100000: the rest was not read',
    });
    expect(report.issues).toHaveLength(1_000 + 1);
    expect(report.issues_omitted).toBe(100_000 - 1_000);
    expect(report.count).toBe(100_000);
  });

  it('stops after maxBlankLines (default 1,000) blank lines, which cost no issue', async () => {
    const report = await verify([...repeat('', 1_001), ...chain.lines]);
    expect(report).toMatchObject({ ok: false, count: 0 });
    expect(report.issues).toEqual([
      {
        code: 'LIMIT_EXCEEDED',
        seq: null,
        detail: 'more than 1000 blank lines, by line 1001: the rest was not read',
      },
    ]);
    // Up to the limit, blank lines are still tolerated.
    expect((await verify([...repeat('', 1_000), ...chain.lines])).ok).toBe(true);
  });

  it('a caller stops it at its own bound; nothing after counts', async () => {
    const verifier = new ChainVerifier({ keyring: chain.keyring, threads: 0 });
    for (const line of chain.lines.slice(0, 10)) await verifier.push(line);
    verifier.stop('receipts.jsonl holds more than the 10 lines its manifest declares');
    expect(verifier.stopped).toBe(true);
    await verifier.push('not json');
    const report = await verifier.finish();
    expect(report).toMatchObject({ ok: false, count: 10, last_seq: 9 });
    expect(report.issues.map((i) => i.code)).toEqual(['LIMIT_EXCEEDED']);
  });

  it('stopped early, it claims no truncation it cannot know', async () => {
    const report = await verify(['x', ...chain.lines], {
      checkpoints: [chain.checkpoint],
      ...limited({ maxIssues: 1 }),
    });
    expect(report.issues.map((i) => i.code)).toEqual(['LIMIT_EXCEEDED', 'SCHEMA_INVALID']);
  });

  it('wild seqs cost no memory per gap, and forks are still told from gaps', async () => {
    const line = (seq: number) =>
      JSON.stringify({ body: JSON.stringify({ seq }), leaf_hash: '', signature: '', key_id: '' });
    const verifier = new ChainVerifier({
      keyring: chain.keyring,
      threads: 0,
      expectedChain: 'tenants/acme',
      ...limited({ maxIssuesListed: 100_000 }),
    });
    const before = process.memoryUsage().arrayBuffers;
    // One 8 KiB page per 65,536 seqs would be 80 MB here.
    for (let i = 1; i <= 10_000; i++) await verifier.push(line(i * 65_536));
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(20 * 1024 * 1024);
    await verifier.push(line(5 * 65_536));
    await verifier.push(line(5 * 65_536 + 1));
    const issues = (await verifier.finish()).issues;
    expect(issues.filter((i) => i.code === 'FORK').map((i) => i.seq)).toEqual([5 * 65_536]);
    expect(issues.find((i) => i.code === 'SEQ_GAP' && /out of order/.test(i.detail))?.seq).toBe(
      5 * 65_536 + 1,
    );
  });
});

describe('verifier limits: checkpoints', () => {
  it('a note over maxNoteBytes (default 16 KiB) is not read', async () => {
    const padded = chain.checkpoint.replace('\n\n', '\n' + 'x'.repeat(16 * 1024) + '\n\n');
    const report = await verify(chain.lines, { checkpoints: [padded] });
    expect(report.issues).toEqual([
      { code: 'LIMIT_EXCEEDED', seq: null, detail: 'a checkpoint note is larger than 16384 bytes: not read' },
    ]);
    expect(() => parseCheckpoint(padded)).toThrow(/note is larger than 16384 bytes/);
  });

  it('more than maxCheckpoints notes are refused before any is parsed', async () => {
    const notes = ['a', 'b', 'c'];
    const report = await verify(chain.lines, { checkpoints: notes, ...limited({ maxCheckpoints: 2 }) });
    expect(report).toMatchObject({ ok: false, count: 0 });
    expect(report.issues).toEqual([
      {
        code: 'LIMIT_EXCEEDED',
        seq: null,
        detail: '3 checkpoint notes, more than the 2 a verification considers',
      },
    ]);
  });

  it('a note repeating a trusted key on many bad lines costs one signature check and one short detail', async () => {
    const [body, sigs] = chain.checkpoint.split('\n\n') as [string, string];
    const bad = (sigs.split('\n')[0] as string).slice(0, -8) + 'AAAAAAA=';
    const note = `${body}\n\n${Array.from({ length: 120 }, () => bad).join('\n')}\n`;
    const t0 = process.hrtime.bigint();
    const report = await verify(chain.lines, { checkpoints: [note] });
    expect(report.issues).toEqual([
      {
        code: 'CHECKPOINT_MISMATCH',
        seq: 29,
        detail: `checkpoint at size 30: signature by governor-${chain.key.keyId} is invalid`,
      },
    ]);
    expect(Number(process.hrtime.bigint() - t0) / 1e6).toBeLessThan(2_000);
  });
});
