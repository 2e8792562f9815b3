import { Timestamp } from '@governor/contracts';
import nacl from 'tweetnacl';
import { appendReceipt, emptyHead, rotateKey, verifyLines, Keyring, SigningKey, keyIdOf } from '../index';
import { sampleFields } from '../sample';

describe('keys', () => {
  it('key_id is the first 8 bytes of SHA-256 of the raw public key', () => {
    const key = SigningKey.fromSeed(Buffer.alloc(32, 1));
    expect(key.keyId).toMatch(/^[0-9a-f]{16}$/);
    expect(keyIdOf(key.publicKey)).toBe(key.keyId);
  });

  it('reads PEM, base64 and hex seeds, and 64-byte NaCl secret keys, as the same key', () => {
    const seed = Buffer.alloc(32, 9);
    const key = SigningKey.fromSeed(seed);
    const naclSecret = Buffer.from(nacl.sign.keyPair.fromSeed(seed).secretKey);
    for (const text of [
      key.toPem(),
      seed.toString('base64'),
      seed.toString('hex'),
      naclSecret.toString('base64'),
    ]) {
      expect(SigningKey.parse(text).keyId).toBe(key.keyId);
    }
  });

  it('refuses a NaCl secret whose halves disagree, and material of the wrong size', () => {
    const bad = Buffer.concat([Buffer.alloc(32, 1), Buffer.alloc(32, 2)]);
    expect(() => SigningKey.parse(bad.toString('base64'))).toThrow(/public half/);
    expect(() => SigningKey.parse(Buffer.alloc(16).toString('base64'))).toThrow(
      expect.objectContaining({ code: 'INVALID_KEY' }),
    );
  });

  it('refuses a keys file that is not JSON, not the schema, or whose key_id lies', () => {
    expect(() => Keyring.fromJson('{')).toThrow(expect.objectContaining({ code: 'INVALID_KEYS_FILE' }));
    expect(() => Keyring.fromJson('{"keys":[{"key_id":"x"}]}')).toThrow(
      expect.objectContaining({ code: 'INVALID_KEYS_FILE' }),
    );
    const entry = SigningKey.generate().publicEntry('2026-01-01T00:00:00.000Z');
    expect(() =>
      Keyring.fromJson(JSON.stringify({ keys: [{ ...entry, key_id: '0000000000000000' }] })),
    ).toThrow(/does not match/);
    expect(Keyring.fromJson(JSON.stringify({ keys: [entry] })).get(entry.key_id)?.entry).toEqual(entry);
  });

  it('validity windows are half-open [not_before, not_after)', () => {
    const entry = {
      key_id: '0'.repeat(16),
      public_key: '',
      not_before: '2026-01-01T00:00:00.000Z',
      not_after: '2026-02-01T00:00:00.000Z',
    };
    expect(Keyring.validAt(entry, '2026-01-01T00:00:00.000Z')).toBe(true);
    expect(Keyring.validAt(entry, '2026-01-31T23:59:59.999Z')).toBe(true);
    expect(Keyring.validAt(entry, '2026-02-01T00:00:00.000Z')).toBe(false);
    expect(Keyring.validAt(entry, '2025-12-31T23:59:59.999Z')).toBe(false);
    expect(Keyring.validAt({ ...entry, not_after: null }, '2099-01-01T00:00:00.000Z')).toBe(true);
  });

  it('rotation writes key_rotated signed by the old key; the chain verifies across it, and the old key cannot sign after', async () => {
    const oldKey = SigningKey.fromSeed(Buffer.alloc(32, 3));
    const newKey = SigningKey.fromSeed(Buffer.alloc(32, 4));
    const t = Date.parse('2026-11-23T00:00:00.000Z');
    let head = emptyHead('tenants/acme');
    const lines: string[] = [];
    const add = (key: SigningKey, i: number) => {
      const a = appendReceipt(head, sampleFields('acme', 12), key, { now: new Date(t + i * 1000) });
      head = a.head;
      lines.push(JSON.stringify(a.record));
    };
    add(oldKey, 0);
    const rotation = rotateKey(
      head,
      [oldKey.publicEntry('2026-01-01T00:00:00.000Z')],
      oldKey,
      newKey,
      new Date(t + 1000),
      { account_id: 'acme' },
    );
    head = rotation.appended.head;
    lines.push(JSON.stringify(rotation.appended.record));
    expect(rotation.appended.body).toMatchObject({
      operation: 'key_rotated',
      key_id: oldKey.keyId,
      new_key_id: newKey.keyId,
    });
    add(newKey, 2);
    const keyring = new Keyring(rotation.keys);
    expect((await verifyLines(lines, { keyring })).issues).toEqual([]);

    add(oldKey, 3);
    const report = await verifyLines(lines, { keyring });
    expect(report.issues).toEqual([expect.objectContaining({ code: 'KEY_NOT_VALID', seq: 3 })]);
  });
});

describe('keys file edge cases', () => {
  it('refuses a key listed twice, and a timestamp that is not a real date', () => {
    const entry = SigningKey.generate().publicEntry('2026-01-01T00:00:00.000Z');
    expect(() => Keyring.fromJson(JSON.stringify({ keys: [entry, entry] }))).toThrow(/listed twice/);
    expect(() =>
      Keyring.fromJson(JSON.stringify({ keys: [{ ...entry, not_before: '2026-02-31T00:00:00.000Z' }] })),
    ).toThrow(/not a real date/);
    expect(Timestamp.safeParse('2026-11-23T24:00:00.000Z').success).toBe(false);
    expect(Timestamp.safeParse('2026-11-23T23:59:59.999Z').success).toBe(true);
  });
});
