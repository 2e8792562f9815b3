import { ReceiptBody } from '@governor/contracts';
import { canonicalize } from '../canonical';
import { leafHash } from '../hash';
import { OVERSIZE_LINE } from '../lines';
import { describe, type IssueLog } from './issue-log';

/** One line of an export: a stored receipt. */
export interface StoredRecord {
  body: string;
  leaf_hash: string;
  signature: string;
  key_id: string;
}

/** A stored record and its body, parsed. */
export interface ParsedRecord {
  readonly record: StoredRecord;
  readonly body: Record<string, unknown>;
}

const RECORD_FIELDS = ['body', 'leaf_hash', 'signature', 'key_id'] as const;

/** The record on a line, or null when the line cannot be one (reported with its line number). */
export function parseRecord(line: string, lineNo: number, log: IssueLog): ParsedRecord | null {
  if (line === OVERSIZE_LINE) {
    log.report('SCHEMA_INVALID', null, `line ${lineNo}: longer than any receipt can be`);
    return null;
  }
  let parsedLine: unknown;
  try {
    parsedLine = JSON.parse(line);
  } catch {
    log.report('SCHEMA_INVALID', null, `line ${lineNo}: not JSON`);
    return null;
  }
  const record = asRecord(parsedLine);
  if (typeof record === 'string') {
    log.report('SCHEMA_INVALID', null, `line ${lineNo}: ${record}`);
    return null;
  }
  try {
    const value: unknown = JSON.parse(record.body);
    const body = (
      typeof value === 'object' && value !== null && !Array.isArray(value) ? value : {}
    ) as Record<string, unknown>;
    return { record, body };
  } catch {
    log.report('NON_CANONICAL', null, `line ${lineNo}: body is not JSON`);
    return null;
  }
}

function asRecord(value: unknown): StoredRecord | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return 'record is not a JSON object';
  const r = value as Record<string, unknown>;
  for (const field of RECORD_FIELDS) {
    if (typeof r[field] !== 'string') return `record field "${field}" is missing or not a string`;
  }
  const extra = Object.keys(r).filter((k) => !(RECORD_FIELDS as readonly string[]).includes(k));
  if (extra.length > 0) return `record has unknown fields: ${extra.slice(0, 5).join(', ')}`;
  return r as unknown as StoredRecord;
}

/** Checks that a body is in canonical form and is a valid receipt body. */
export function checkBody(
  { record, body }: ParsedRecord,
  seq: number | null,
  lineNo: number,
  log: IssueLog,
): void {
  // The body is parsed already: re-canonicalise that value rather than parsing again.
  const reason = canonicalProblem(body, record.body);
  if (reason !== null) log.report('NON_CANONICAL', seq, `line ${lineNo}: ${reason}`);
  const schema = ReceiptBody.safeParse(body);
  if (!schema.success) {
    const first = schema.error.issues[0];
    log.report('SCHEMA_INVALID', seq, `${first?.path.join('.') || 'body'}: ${first?.message ?? 'invalid'}`);
  }
}

function canonicalProblem(value: unknown, text: string): string | null {
  try {
    return canonicalize(value) === text ? null : 'bytes differ from the canonical form';
  } catch (e) {
    return (e as Error).message;
  }
}

/** The body's leaf hash, reported when the record's `leaf_hash` differs from it. */
export function checkLeaf(record: StoredRecord, seq: number | null, log: IssueLog): Buffer {
  const leaf = leafHash(record.body);
  const leafHex = leaf.toString('hex');
  if (leafHex !== record.leaf_hash) {
    log.report(
      'HASH_MISMATCH',
      seq,
      `leaf_hash ${describe(record.leaf_hash.slice(0, 16))}… but body hashes to ${leafHex.slice(0, 16)}…`,
    );
  }
  return leaf;
}

/** The body's seq field, or null when it is not a valid seq. */
export function seqOf(body: Record<string, unknown>): number | null {
  return typeof body.seq === 'number' && Number.isSafeInteger(body.seq) && body.seq >= 0 ? body.seq : null;
}
