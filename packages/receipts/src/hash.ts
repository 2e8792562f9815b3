import { createHash } from 'node:crypto';

const LEAF = Buffer.from([0x00]);
const NODE = Buffer.from([0x01]);

/** RFC 6962 leaf hash: SHA-256(0x00 || body). */
export function leafHash(body: string | Uint8Array): Buffer {
  return createHash('sha256').update(LEAF).update(body).digest();
}

/** RFC 6962 interior node: SHA-256(0x01 || left || right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  return createHash('sha256').update(NODE).update(left).update(right).digest();
}

/** The `prev_hash` of a chain's seq 0: SHA-256("governor/genesis/" + chain), hex. */
export function genesisHash(chain: string): string {
  return createHash('sha256').update(`governor/genesis/${chain}`).digest('hex');
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
