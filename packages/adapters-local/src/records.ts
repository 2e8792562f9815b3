import type { StoredReceipt } from '@governor/contracts';
import { storedRecord } from '@governor/governor';

const FIELDS = ['body', 'leaf_hash', 'signature', 'key_id'] as const;

/** One line of `receipts.jsonl`, without its newline: exactly what an export holds. */
export function recordLine(record: StoredReceipt): string {
  return JSON.stringify(storedRecord(record));
}

/** Parses a stored line back into a record, or says why it is not one. */
export function parseRecordLine(line: string): StoredReceipt | string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return 'not JSON';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a JSON object';
  const fields = value as Record<string, unknown>;
  if (Object.keys(fields).length !== FIELDS.length) return 'not exactly body, leaf_hash, signature, key_id';
  for (const field of FIELDS) {
    if (typeof fields[field] !== 'string') return `field "${field}" is missing or not a string`;
  }
  return storedRecord(fields as unknown as StoredReceipt);
}
