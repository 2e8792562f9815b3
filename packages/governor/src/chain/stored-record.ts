import type { StoredReceipt } from '@governor/contracts';

/** The stored form of a record, in its fixed field order, whatever object it came in. */
export function storedRecord(record: StoredReceipt): StoredReceipt {
  return {
    body: record.body,
    leaf_hash: record.leaf_hash,
    signature: record.signature,
    key_id: record.key_id,
  };
}
