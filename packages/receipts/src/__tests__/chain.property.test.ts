import fc from 'fast-check';
import {
  canonicalize,
  leafHash,
  pae,
  RECEIPT_PAYLOAD_TYPE,
  SigningKey,
  verifyLines,
  type VerifyReport,
} from '../index';
import { buildChain, mutateBody } from './helpers';

// Properties of the verifier over arbitrary tampering: whatever is done to a valid chain is
// reported, with the right code, at the seq it was done to.
jest.setTimeout(60_000);
const N = 24;
const chain = buildChain(N);
const stranger = SigningKey.fromSeed(Buffer.alloc(32, 42));
const verify = (lines: string[], checkpoints: string[] = []) =>
  verifyLines(lines, { keyring: chain.keyring, threads: 0, checkpoints });
const pairs = (r: VerifyReport) => r.issues.map((i) => [i.code, i.seq] as const);
const runs = { numRuns: 40 };
const L = 2n ** 252n + 27742317777372353535851937790883648493n;

describe('verifier properties', () => {
  it('valid chains of any length, with a checkpoint, always verify', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 60 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        async (n, seed) => {
          const c = buildChain(n, 'tenant-x', SigningKey.fromSeed(seed));
          const report = await verifyLines(c.lines, {
            keyring: c.keyring,
            threads: 0,
            checkpoints: [c.checkpoint],
          });
          expect(report).toMatchObject({ ok: true, count: n, checkpoints_verified: 1 });
        },
      ),
      { numRuns: 25 },
    );
  });

  it('any flipped byte of a body is reported at that receipt (or as an unattributable line when the seq itself is destroyed)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: N - 1 }),
        fc.nat(),
        fc.integer({ min: 1, max: 127 }),
        async (i, pos, xor) => {
          const record = JSON.parse(chain.lines[i] as string) as Record<string, string>;
          const body = Buffer.from(record.body as string, 'utf8');
          const at = pos % body.length;
          body[at] = (body[at] as number) ^ xor;
          const lines = [...chain.lines];
          lines[i] = JSON.stringify({ ...record, body: body.toString('latin1') });
          const report = await verify(lines);
          expect(report.ok).toBe(false);
          expect(report.issues.some((issue) => issue.seq === i || issue.seq === null)).toBe(true);
          expect(
            report.issues.every((issue) => issue.seq === null || issue.seq <= i + 1 || issue.code === 'FORK'),
          ).toBe(true);
        },
      ),
      { numRuns: Number(process.env.FLIP_RUNS ?? 150) },
    );
  });

  it('a dropped receipt is exactly one SEQ_GAP at its seq', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: N - 2 }), async (i) => {
        expect(pairs(await verify(chain.lines.filter((_, k) => k !== i)))).toEqual([['SEQ_GAP', i]]);
      }),
      runs,
    );
  });

  it('reordered receipts are reported first at the earliest displaced seq', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: N - 1 }),
        fc.integer({ min: 0, max: N - 1 }),
        async (a, b) => {
          fc.pre(a !== b);
          const lines = [...chain.lines];
          [lines[a], lines[b]] = [lines[b] as string, lines[a] as string];
          const report = await verify(lines);
          expect(report.ok).toBe(false);
          expect(report.issues[0]).toMatchObject({ code: 'SEQ_GAP', seq: Math.min(a, b) });
        },
      ),
      runs,
    );
  });

  it('a duplicated receipt is a FORK at its seq', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: N - 1 }),
        fc.integer({ min: 1, max: N }),
        async (i, offset) => {
          const lines = [...chain.lines];
          lines.splice(Math.min(N, i + offset), 0, chain.lines[i] as string);
          expect(pairs(await verify(lines))).toContainEqual(['FORK', i]);
        },
      ),
      runs,
    );
  });

  it('a receipt re-signed with an unknown key is UNKNOWN_KEY at its seq; one re-signed under a trusted key_id is SIGNATURE_INVALID', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: N - 1 }), async (i) => {
        const lines = [...chain.lines];
        const claimed = mutateBody(lines[i] as string, (b) => (b.key_id = stranger.keyId));
        const body = canonicalize(JSON.parse((JSON.parse(claimed) as { body: string }).body));
        lines[i] = JSON.stringify({
          body,
          leaf_hash: leafHash(body).toString('hex'),
          signature: stranger.sign(pae(RECEIPT_PAYLOAD_TYPE, body)).toString('base64'),
          key_id: stranger.keyId,
        });
        const report = pairs(await verify(lines));
        expect(report[0]).toEqual(['UNKNOWN_KEY', i]);
        expect(report.filter(([code]) => code !== 'CHAIN_BROKEN')).toEqual([['UNKNOWN_KEY', i]]);

        const same = [...chain.lines];
        const original = JSON.parse(same[i] as string) as { body: string };
        same[i] = JSON.stringify({
          ...original,
          signature: stranger.sign(pae(RECEIPT_PAYLOAD_TYPE, original.body)).toString('base64'),
        });
        expect(pairs(await verify(same))).toEqual([['SIGNATURE_INVALID', i]]);
      }),
      { numRuns: 20 },
    );
  });

  it('any truncation below a checkpoint is TRUNCATED at the first missing seq', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: N - 1 }), async (keep) => {
        expect(pairs(await verify(chain.lines.slice(0, keep), [chain.checkpoint]))).toEqual([
          ['TRUNCATED', keep],
        ]);
      }),
      runs,
    );
  });

  it('an S+L malleated signature is SIGNATURE_INVALID at its seq', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: N - 1 }), async (i) => {
        const lines = [...chain.lines];
        const record = JSON.parse(lines[i] as string) as Record<string, string>;
        const sig = Buffer.from(record.signature as string, 'base64');
        const s = BigInt('0x' + Buffer.from(sig.subarray(32)).reverse().toString('hex')) + L;
        const malleated = Buffer.concat([
          sig.subarray(0, 32),
          Buffer.from(s.toString(16).padStart(64, '0'), 'hex').reverse(),
        ]);
        lines[i] = JSON.stringify({ ...record, signature: malleated.toString('base64') });
        expect(pairs(await verify(lines))).toEqual([['SIGNATURE_INVALID', i]]);
      }),
      { numRuns: 20 },
    );
  });
});
