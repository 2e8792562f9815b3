import type { KeyObject } from 'node:crypto';
import { leafHash } from '../hash';
import { pae, RECEIPT_PAYLOAD_TYPE, verifyBytes } from '../signature';
import { bodyProblems, readRecord, type BodyProblems, type LineRefusal } from './record';

// What a verifier's worker thread makes of one line, so the main thread only orders and links.

/** The body fields ordering, ownership and keys are checked with; the rest stays in the worker. */
const ENVELOPE = ['seq', 'chain', 'prev_hash', 'timestamp', 'key_id', 'account_id', 'worker_id'] as const;

export interface CheckedLine {
  readonly record: { readonly key_id: string; readonly leaf_hash: string };
  readonly fields: Record<string, unknown>;
  readonly problems: BodyProblems;
  /** The body's leaf hash, hex. */
  readonly leaf: string;
  /** Whether the signature verifies under the key the body names; null when that key is unknown. */
  readonly signed: boolean | null;
}

/** A blank line is not a record and is left to the main thread: null. */
export type LineOutcome = CheckedLine | LineRefusal | null;

export function checkLine(line: string, keys: ReadonlyMap<string, KeyObject>): LineOutcome {
  if (line.trim() === '') return null;
  const read = readRecord(line);
  if (!('record' in read)) return read;
  const { record, body } = read;
  const fields: Record<string, unknown> = {};
  for (const name of ENVELOPE) if (Object.hasOwn(body, name)) fields[name] = body[name];
  const keyId = typeof body.key_id === 'string' ? body.key_id : record.key_id;
  const key = keys.get(keyId);
  return {
    record: { key_id: record.key_id, leaf_hash: record.leaf_hash },
    fields,
    problems: bodyProblems(read),
    leaf: leafHash(record.body).toString('hex'),
    signed:
      key === undefined
        ? null
        : verifyBytes(key, pae(RECEIPT_PAYLOAD_TYPE, record.body), Buffer.from(record.signature, 'base64')),
  };
}
