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

/** Why a line is not a record: the issue's code, and its detail after the line number. */
export interface LineRefusal {
  readonly code: 'SCHEMA_INVALID' | 'NON_CANONICAL';
  readonly reason: string;
}

/** The record on a line, or null when the line cannot be one (reported with its line number). */
export function parseRecord(line: string, lineNo: number, log: IssueLog): ParsedRecord | null {
  const read = readRecord(line);
  if ('record' in read) return read;
  log.report(read.code, null, `line ${lineNo}: ${read.reason}`);
  return null;
}

/** The record on a line, or why it cannot be one. */
export function readRecord(line: string): ParsedRecord | LineRefusal {
  if (line === OVERSIZE_LINE) return { code: 'SCHEMA_INVALID', reason: 'longer than any receipt can be' };
  let parsedLine: unknown;
  try {
    parsedLine = JSON.parse(line);
  } catch {
    return { code: 'SCHEMA_INVALID', reason: 'not JSON' };
  }
  const record = asRecord(parsedLine);
  if (typeof record === 'string') return { code: 'SCHEMA_INVALID', reason: record };
  try {
    const value: unknown = JSON.parse(record.body);
    const body = (
      typeof value === 'object' && value !== null && !Array.isArray(value) ? value : {}
    ) as Record<string, unknown>;
    return { record, body };
  } catch {
    return { code: 'NON_CANONICAL', reason: 'body is not JSON' };
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
export function checkBody(parsed: ParsedRecord, seq: number | null, lineNo: number, log: IssueLog): void {
  reportBodyProblems(bodyProblems(parsed), seq, lineNo, log);
}

/** What is wrong with a parsed body: its bytes against the canonical form, and its schema. */
export interface BodyProblems {
  readonly canonical: string | null;
  readonly schema: string | null;
}

export function bodyProblems({ record, body }: ParsedRecord): BodyProblems {
  // The body is parsed already: re-canonicalise that value rather than parsing again.
  const canonical = canonicalProblem(body, record.body);
  const result = ReceiptBody.safeParse(body);
  if (result.success) return { canonical, schema: null };
  const first = result.error.issues[0];
  return { canonical, schema: `${first?.path.join('.') || 'body'}: ${first?.message ?? 'invalid'}` };
}

export function reportBodyProblems(
  problems: BodyProblems,
  seq: number | null,
  lineNo: number,
  log: IssueLog,
): void {
  if (problems.canonical !== null) log.report('NON_CANONICAL', seq, `line ${lineNo}: ${problems.canonical}`);
  if (problems.schema !== null) log.report('SCHEMA_INVALID', seq, problems.schema);
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
  reportLeaf(record, leaf.toString('hex'), seq, log);
  return leaf;
}

/** Reports HASH_MISMATCH when the record's `leaf_hash` is not `leafHex`, the body's hash. */
export function reportLeaf(record: Pick<StoredRecord, 'leaf_hash'>, leafHex: string, seq: number | null, log: IssueLog): void {
  if (leafHex !== record.leaf_hash) {
    log.report(
      'HASH_MISMATCH',
      seq,
      `leaf_hash ${describe(record.leaf_hash.slice(0, 16))}… but body hashes to ${leafHex.slice(0, 16)}…`,
    );
  }
}

/** The body's seq field, or null when it is not a valid seq. */
export function seqOf(body: Record<string, unknown>): number | null {
  return typeof body.seq === 'number' && Number.isSafeInteger(body.seq) && body.seq >= 0 ? body.seq : null;
}
