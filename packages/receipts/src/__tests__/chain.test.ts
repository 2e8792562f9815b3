import { ReceiptBody } from '@governor/contracts';
import { appendReceipt, emptyHead, genesisHash, isCanonical, leafHash, SigningKey } from '../index';
import { sampleFields } from '../sample';

const key = SigningKey.fromSeed(Buffer.alloc(32, 5));

describe('appendReceipt', () => {
  it('fills the envelope, links to the previous leaf, and stores canonical bytes', () => {
    const head0 = emptyHead('tenants/acme');
    const first = appendReceipt(head0, sampleFields('acme', 0), key, {
      now: new Date('2026-11-23T10:00:00.000Z'),
    });
    expect(first.body).toMatchObject({
      v: 1,
      chain: 'tenants/acme',
      seq: 0,
      prev_hash: genesisHash('tenants/acme'),
      key_id: key.keyId,
      timestamp: '2026-11-23T10:00:00.000Z',
    });
    expect(isCanonical(first.record.body).ok).toBe(true);
    expect(first.record.leaf_hash).toBe(leafHash(first.record.body).toString('hex'));
    const second = appendReceipt(first.head, sampleFields('acme', 1), key, {
      now: new Date('2026-11-23T10:00:01.000Z'),
    });
    expect(second.body).toMatchObject({ seq: 1, prev_hash: first.record.leaf_hash });
    expect(second.head).toMatchObject({ size: 2, head_hash: second.record.leaf_hash });
  });

  it('produces a valid body for every operation', () => {
    let head = emptyHead('tenants/acme');
    for (let i = 0; i < 20; i++) {
      const a = appendReceipt(head, sampleFields('acme', i), key, { now: new Date(1e12 + i) });
      expect(ReceiptBody.safeParse(JSON.parse(a.record.body)).success).toBe(true);
      head = a.head;
    }
  });

  it('never lets the timestamp go backwards when the clock steps back', () => {
    const a = appendReceipt(emptyHead('tenants/acme'), sampleFields('acme', 0), key, {
      now: new Date('2026-11-23T10:00:05.000Z'),
    });
    const b = appendReceipt(a.head, sampleFields('acme', 1), key, {
      now: new Date('2026-11-23T10:00:01.000Z'),
    });
    expect(b.body.timestamp).toBe('2026-11-23T10:00:05.000Z');
  });

  it('refuses fields that break the operation schema, naming the field', () => {
    const fields = { ...sampleFields('acme', 7), concurrency: { previous: 20, new: -1 } };
    expect(() => appendReceipt(emptyHead('tenants/acme'), fields as never, key, { now: new Date() })).toThrow(
      /governor_scaled.*concurrency\.new/,
    );
    const extra = { ...sampleFields('acme', 12), surprise: true };
    expect(() => appendReceipt(emptyHead('tenants/acme'), extra as never, key, { now: new Date() })).toThrow(
      expect.objectContaining({ code: 'INVALID_RECEIPT' }),
    );
  });
});
