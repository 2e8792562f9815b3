import { createHash } from 'node:crypto';
import { ReceiptsError } from './errors';
import type { ChainHead } from './chain';
import { Keyring, type SigningKey } from './keys';
import { clip, DEFAULT_LIMITS } from './limits';
import { CompactRange } from './merkle';
import { verifyBytes } from './signature';

/**
 * A checkpoint: the C2SP tlog-checkpoint body (origin, size, base64 Merkle root) with two
 * extension lines, the head leaf hash and the time it was made, signed as a C2SP signed note.
 */
export interface Checkpoint {
  readonly origin: string;
  readonly size: number;
  readonly root: Buffer;
  readonly head_hash: string;
  readonly timestamp: string;
}

export interface NoteSignature {
  readonly name: string;
  readonly keyHash: Buffer;
  readonly signature: Buffer;
}

export interface SignedCheckpoint {
  readonly checkpoint: Checkpoint;
  readonly text: string;
  readonly signatures: readonly NoteSignature[];
  /** The exact bytes the signatures cover. */
  readonly signedBody: string;
}

export function originOf(chain: string): string {
  return `governor/${chain}`;
}

/** The note key name of a signing key. */
export function noteKeyName(keyId: string): string {
  return `governor-${keyId}`;
}

/** C2SP signed-note key hash: SHA-256(name || "\n" || 0x01 || public key)[:4] for Ed25519. */
export function noteKeyHash(name: string, rawPublic: Uint8Array): Buffer {
  return createHash('sha256')
    .update(`${name}\n`)
    .update(Buffer.from([0x01]))
    .update(rawPublic)
    .digest()
    .subarray(0, 4);
}

function bodyText(cp: Checkpoint): string {
  return `${cp.origin}\n${cp.size}\n${cp.root.toString('base64')}\nhead ${cp.head_hash}\ntimestamp ${cp.timestamp}\n`;
}

export function checkpointOf(head: ChainHead, now: Date): Checkpoint {
  return {
    origin: originOf(head.chain),
    size: head.size,
    root: CompactRange.fromJSON(head.tree).root(),
    head_hash: head.head_hash,
    timestamp: now.toISOString(),
  };
}

export function signCheckpoint(cp: Checkpoint, signer: SigningKey): string {
  const body = bodyText(cp);
  const name = noteKeyName(signer.keyId);
  const sig = Buffer.concat([noteKeyHash(name, signer.publicKey), signer.sign(Buffer.from(body, 'utf8'))]);
  return `${body}\n\u2014 ${name} ${sig.toString('base64')}\n`;
}

/** Whether a note is within `maxBytes` (UTF-8), without encoding a hostile one whole. */
export function noteWithin(text: string, maxBytes = DEFAULT_LIMITS.maxNoteBytes): boolean {
  return text.length <= maxBytes && Buffer.byteLength(text, 'utf8') <= maxBytes;
}

/**
 * Parses a signed note; malformed text, or a note over `maxBytes`, throws INVALID_CHECKPOINT
 * (the verifier turns it into an issue).
 */
export function parseCheckpoint(text: string, maxBytes = DEFAULT_LIMITS.maxNoteBytes): SignedCheckpoint {
  const bad = (why: string): never => {
    throw new ReceiptsError('INVALID_CHECKPOINT', `checkpoint: ${why}`);
  };
  if (!noteWithin(text, maxBytes)) bad(`note is larger than ${maxBytes} bytes`);
  const split = text.indexOf('\n\n');
  if (split < 0) bad('no blank line between body and signatures');
  const signedBody = text.slice(0, split + 1);
  const lines = signedBody.slice(0, -1).split('\n');
  const [origin, sizeText, rootText, ...ext] = lines;
  if (!origin || !sizeText || !rootText) bad('body needs origin, size and root lines');
  if (!/^(0|[1-9]\d*)$/.test(sizeText as string))
    bad(`size "${clip(sizeText as string)}" is not a decimal number`);
  const root = Buffer.from(rootText as string, 'base64');
  if (root.length !== 32) bad('root is not 32 bytes of base64');
  const extension = new Map(
    ext.map((l) => [l.slice(0, l.indexOf(' ')), l.slice(l.indexOf(' ') + 1)] as const),
  );
  const head = extension.get('head');
  const timestamp = extension.get('timestamp');
  if (!head || !/^[0-9a-f]{64}$/.test(head)) bad('missing or malformed "head" line');
  if (!timestamp || Number.isNaN(Date.parse(timestamp))) bad('missing or malformed "timestamp" line');
  const signatures: NoteSignature[] = [];
  for (const line of text.slice(split + 2).split('\n')) {
    if (line === '') continue;
    const m = /^\u2014 (\S+) ([A-Za-z0-9+/]+=*)$/.exec(line);
    if (!m) bad(`malformed signature line "${clip(line)}"`);
    const blob = Buffer.from((m as RegExpExecArray)[2] as string, 'base64');
    if (blob.length !== 68) bad('signature is not a 4-byte key hash and a 64-byte Ed25519 signature');
    signatures.push({
      name: (m as RegExpExecArray)[1] as string,
      keyHash: blob.subarray(0, 4),
      signature: blob.subarray(4),
    });
  }
  if (signatures.length === 0) bad('no signature lines');
  return {
    checkpoint: {
      origin: origin as string,
      size: Number(sizeText),
      root,
      head_hash: head as string,
      timestamp: timestamp as string,
    },
    text,
    signatures,
    signedBody,
  };
}

/** Checks a note's signatures against the keyring; returns why it is not trusted, or null. */
export function checkpointSignatureProblem(note: SignedCheckpoint, keyring: Keyring): string | null {
  const problems: string[] = [];
  // One signature checked per key: a note repeating a trusted key's name on many bad lines
  // must not buy one Ed25519 verification per line.
  const tried = new Set<string>();
  for (const s of note.signatures) {
    const keyId = s.name.startsWith('governor-') ? s.name.slice('governor-'.length) : '';
    const trusted = keyring.get(keyId);
    if (!trusted) {
      problems.push(`signed by unknown key ${clip(s.name)}`);
      continue;
    }
    if (tried.has(keyId)) continue;
    tried.add(keyId);
    if (!noteKeyHash(s.name, trusted.raw).equals(s.keyHash))
      problems.push(`key hash of ${s.name} does not match`);
    else if (!verifyBytes(trusted.key, Buffer.from(note.signedBody, 'utf8'), s.signature))
      problems.push(`signature by ${s.name} is invalid`);
    else if (!Keyring.validAt(trusted.entry, note.checkpoint.timestamp))
      problems.push(`key ${keyId} was not valid at ${note.checkpoint.timestamp}`);
    else return null;
  }
  const shown = problems.slice(0, 3).join('; ');
  return problems.length > 3 ? `${shown}; and ${problems.length - 3} more` : shown;
}
