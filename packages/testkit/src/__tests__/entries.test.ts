import { SigningKey, verifyLines } from '@governor/receipts';
import { buildEntries, keyringFor, seqsOf } from '../entries';

describe('buildEntries', () => {
  const key = SigningKey.fromSeed(Buffer.alloc(32, 1));

  it('builds real receipts that continue a head and verify as one chain', async () => {
    const first = buildEntries('tenants/acme', 3, key);
    const second = buildEntries('tenants/acme', 40, key, first.head);
    expect(second.entries.map((e) => e.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i + 3));
    const records = [...first.entries, ...second.entries].map((e) => e.record);
    expect(seqsOf(records)).toEqual(Array.from({ length: 43 }, (_, i) => i));
    const report = await verifyLines(
      records.map((r) => JSON.stringify(r)),
      { keyring: keyringFor(key), expectedChain: 'tenants/acme', threads: 0 },
    );
    expect(report.issues).toEqual([]);
    expect(report.head_hash).toBe(second.head.head_hash);
  });

  it('builds different receipts at the same seqs each time, as two racing writers would', () => {
    const a = buildEntries('workers/worker-1', 1, key);
    const b = buildEntries('workers/worker-1', 1, key);
    expect(a.entries[0]?.seq).toBe(b.entries[0]?.seq);
    expect(a.entries[0]?.record.leaf_hash).not.toBe(b.entries[0]?.record.leaf_hash);
  });

  it('refuses a chain id it cannot build for, or a head of another chain', () => {
    expect(() => buildEntries('acme', 1, key)).toThrow(RangeError);
    const other = buildEntries('tenants/globex', 1, key);
    expect(() => buildEntries('tenants/acme', 1, key, other.head)).toThrow(RangeError);
  });
});
