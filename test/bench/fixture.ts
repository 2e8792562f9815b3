import {
  appendReceipt,
  checkpointOf,
  emptyHead,
  Keyring,
  sampleFields,
  signCheckpoint,
  SigningKey,
  type Appended,
  type ChainHead,
} from '@governor/receipts';
import type { ReceiptFields } from '@governor/contracts';

/** One deterministic key and tenant chain for every measurement. */
export const ACCOUNT = 'acme-bench';
export const SIGNER = SigningKey.fromSeed(Buffer.alloc(32, 7));
export const KEYRING = new Keyring([SIGNER.publicEntry('2026-01-01T00:00:00.000Z')]);
const T0 = Date.parse('2026-11-23T10:00:00.000Z');

export function startChain(): ChainHead {
  return emptyHead(`tenants/${ACCOUNT}`);
}

/** The fields of receipt `i`: every operation in turn. */
export function fieldsAt(i: number): ReceiptFields {
  return sampleFields(ACCOUNT, i);
}

/** Appends receipt `i` with the given fields, one millisecond after receipt `i - 1`. */
export function append(head: ChainHead, fields: ReceiptFields, i: number): Appended {
  return appendReceipt(head, fields, SIGNER, { now: new Date(T0 + i) });
}

/** The signed checkpoint note over everything appended up to `head`. */
export function checkpointAt(head: ChainHead): string {
  return signCheckpoint(checkpointOf(head, new Date(T0 + head.size)), SIGNER);
}
