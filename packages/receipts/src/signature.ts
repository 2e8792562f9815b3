import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';

/** The DSSE payload type of a receipt body. */
export const RECEIPT_PAYLOAD_TYPE = 'application/vnd.governor.receipt.v1+json';
/** The DSSE payload type of an archive manifest. */
export const MANIFEST_PAYLOAD_TYPE = 'application/vnd.governor.manifest.v1+json';

/** DSSE v1 pre-authentication encoding: binds the payload type so a signature cannot be replayed as another type. */
export function pae(payloadType: string, body: string | Uint8Array): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  const payload = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body);
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${type.length} `),
    type,
    Buffer.from(` ${payload.length} `),
    payload,
  ]);
}

// DER wrappers for raw Ed25519 keys (RFC 8410), so node:crypto can use 32-byte seeds and public keys.
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export function privateKeyFromSeed(seed: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

export function publicKeyFromRaw(raw: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

export function rawPublicKey(key: KeyObject): Buffer {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return pub.export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length);
}

export function rawSeed(key: KeyObject): Buffer {
  return key.export({ format: 'der', type: 'pkcs8' }).subarray(PKCS8_PREFIX.length);
}

export function signBytes(key: KeyObject, message: Uint8Array): Buffer {
  return sign(null, message, key);
}

/** Ed25519 verification; OpenSSL rejects non-canonical S (S ≥ L), so malleated signatures fail. */
export function verifyBytes(key: KeyObject, message: Uint8Array, signature: Uint8Array): boolean {
  if (signature.length !== 64) return false;
  try {
    return verify(null, message, key, signature);
  } catch {
    return false;
  }
}
