import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import nacl from 'tweetnacl';
import { KeysFile, type PublicKeyEntry } from '@governor/contracts';
import { ReceiptsError } from './errors';
import { privateKeyFromSeed, publicKeyFromRaw, rawPublicKey, rawSeed, signBytes } from './signature';

/** key_id = first 8 bytes of SHA-256(raw public key), hex. */
export function keyIdOf(rawPublic: Uint8Array): string {
  return createHash('sha256').update(rawPublic).digest().subarray(0, 8).toString('hex');
}

/** A private Ed25519 key ready to sign receipts, checkpoints and manifests. */
export class SigningKey {
  readonly keyId: string;
  readonly publicKey: Buffer;
  private constructor(private readonly key: KeyObject) {
    this.publicKey = rawPublicKey(key);
    this.keyId = keyIdOf(this.publicKey);
  }

  static generate(): SigningKey {
    return new SigningKey(generateKeyPairSync('ed25519').privateKey);
  }

  static fromSeed(seed: Uint8Array): SigningKey {
    if (seed.length !== 32)
      throw new ReceiptsError('INVALID_KEY', `an Ed25519 seed is 32 bytes, got ${seed.length}`);
    return new SigningKey(privateKeyFromSeed(seed));
  }

  /** Imports a 64-byte NaCl secret key (seed || public key), checking that its halves agree. */
  static fromNaclSecretKey(secret: Uint8Array): SigningKey {
    if (secret.length !== 64)
      throw new ReceiptsError('INVALID_KEY', `a NaCl secret key is 64 bytes, got ${secret.length}`);
    const seed = secret.subarray(0, 32);
    const derived = nacl.sign.keyPair.fromSeed(seed).publicKey;
    if (!Buffer.from(derived).equals(Buffer.from(secret.subarray(32)))) {
      throw new ReceiptsError('INVALID_KEY', 'NaCl secret key: the public half does not belong to the seed');
    }
    return SigningKey.fromSeed(seed);
  }

  /**
   * Reads a key from text: PKCS#8 PEM (what `governor keys generate` writes), or base64 / hex of a
   * 32-byte seed or a 64-byte NaCl secret key (what GOVERNOR_SIGNING_KEY may hold).
   */
  static parse(text: string): SigningKey {
    const trimmed = text.trim();
    if (trimmed.startsWith('-----BEGIN PRIVATE KEY-----')) {
      const der = Buffer.from(trimmed.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64');
      return SigningKey.fromSeed(der.subarray(der.length - 32));
    }
    const bytes =
      /^[0-9a-f]+$/i.test(trimmed) && trimmed.length % 2 === 0
        ? Buffer.from(trimmed, 'hex')
        : Buffer.from(trimmed, 'base64');
    if (bytes.length === 32) return SigningKey.fromSeed(bytes);
    if (bytes.length === 64) return SigningKey.fromNaclSecretKey(bytes);
    throw new ReceiptsError(
      'INVALID_KEY',
      'signing key must be PKCS#8 PEM, or base64/hex of a 32-byte seed or 64-byte NaCl secret key',
    );
  }

  toPem(): string {
    return this.key.export({ format: 'pem', type: 'pkcs8' }).toString();
  }

  seed(): Buffer {
    return rawSeed(this.key);
  }

  sign(message: Uint8Array): Buffer {
    return signBytes(this.key, message);
  }

  publicEntry(notBefore: string, notAfter: string | null = null): PublicKeyEntry {
    return {
      key_id: this.keyId,
      public_key: this.publicKey.toString('base64'),
      not_before: notBefore,
      not_after: notAfter,
    };
  }
}

export interface TrustedKey {
  readonly entry: PublicKeyEntry;
  readonly key: KeyObject;
  readonly raw: Buffer;
}

/** The public keys an auditor trusts, each with its validity window `[not_before, not_after)`. */
export class Keyring {
  private readonly byId = new Map<string, TrustedKey>();

  constructor(entries: readonly PublicKeyEntry[]) {
    for (const entry of entries) {
      const raw = Buffer.from(entry.public_key, 'base64');
      if (raw.length !== 32)
        throw new ReceiptsError('INVALID_KEYS_FILE', `key ${entry.key_id}: public_key is not 32 bytes`);
      if (this.byId.has(entry.key_id))
        throw new ReceiptsError('INVALID_KEYS_FILE', `key ${entry.key_id} is listed twice`);
      if (keyIdOf(raw) !== entry.key_id)
        throw new ReceiptsError(
          'INVALID_KEYS_FILE',
          `key ${entry.key_id}: key_id does not match its public key`,
        );
      this.byId.set(entry.key_id, { entry, raw, key: publicKeyFromRaw(raw) });
    }
  }

  /** Parses keys.json text; a malformed file is a configuration error, not a verification issue. */
  static fromJson(text: string): Keyring {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new ReceiptsError('INVALID_KEYS_FILE', `keys file is not JSON: ${(e as Error).message}`, {
        cause: e,
      });
    }
    const parsed = KeysFile.safeParse(json);
    if (!parsed.success) {
      const first = parsed.error.issues[0];
      throw new ReceiptsError(
        'INVALID_KEYS_FILE',
        `keys file: ${first?.path.join('.') ?? ''} ${first?.message ?? 'invalid'}`,
        { cause: parsed.error },
      );
    }
    return new Keyring(parsed.data.keys);
  }

  get(keyId: string): TrustedKey | undefined {
    return this.byId.get(keyId);
  }

  entries(): PublicKeyEntry[] {
    return [...this.byId.values()].map((k) => k.entry);
  }

  /** Whether `timestamp` (RFC 3339) lies within the key's window. */
  static validAt(entry: PublicKeyEntry, timestamp: string): boolean {
    const t = Date.parse(timestamp);
    return t >= Date.parse(entry.not_before) && (entry.not_after === null || t < Date.parse(entry.not_after));
  }

  toJson(): string {
    return JSON.stringify({ keys: this.entries() }, null, 2) + '\n';
  }
}
