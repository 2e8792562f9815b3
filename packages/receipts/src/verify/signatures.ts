import { Keyring } from '../keys';
import { RECEIPT_PAYLOAD_TYPE } from '../signature';
import { describe, type IssueLog } from './issue-log';
import type { StoredRecord } from './record';
import { InlineSignatureChecker, SignaturePool, type SignatureChecker } from './signature-pool';

/**
 * Each receipt's key: known to the keyring and valid at the receipt's time; and its signature,
 * checked on worker threads unless `threads` is 0 or the work is small (`inline`). A bad
 * signature is reported when its batch comes back, so call `finish()` before reading the issues.
 */
export class SignatureCheck {
  private readonly checker: SignatureChecker;

  constructor(
    private readonly keyring: Keyring,
    private readonly log: IssueLog,
    options: { readonly threads?: number | undefined; readonly inline: boolean },
  ) {
    const keys = keyring.entries().map((e) => [e.key_id, e.public_key] as const);
    const onInvalid = (seq: number) =>
      log.report(
        'SIGNATURE_INVALID',
        seq < 0 ? null : seq,
        'Ed25519 signature over the DSSE envelope does not verify',
      );
    this.checker =
      options.threads === 0 || options.inline
        ? new InlineSignatureChecker(keys, RECEIPT_PAYLOAD_TYPE, onInvalid)
        : new SignaturePool(keys, RECEIPT_PAYLOAD_TYPE, onInvalid, options.threads);
  }

  async check(record: StoredRecord, body: Record<string, unknown>, seq: number | null): Promise<void> {
    const keyId = typeof body.key_id === 'string' ? body.key_id : record.key_id;
    if (record.key_id !== keyId)
      this.log.report(
        'SCHEMA_INVALID',
        seq,
        `record key_id ${describe(record.key_id)} differs from the signed key_id ${describe(keyId)}`,
      );
    const trusted = this.keyring.get(keyId);
    if (!trusted) {
      this.log.report('UNKNOWN_KEY', seq, `key ${describe(keyId)} is not in the keyring`);
      return;
    }
    if (typeof body.timestamp === 'string' && !Keyring.validAt(trusted.entry, body.timestamp)) {
      this.log.report(
        'KEY_NOT_VALID',
        seq,
        `key ${keyId} is valid [${trusted.entry.not_before}, ${trusted.entry.not_after ?? '…'}), receipt is at ${describe(body.timestamp)}`,
      );
    }
    await this.checker.add(keyId, record.body, record.signature, seq ?? -1);
  }

  /** Waits for every queued signature, then ends the worker threads. */
  async finish(): Promise<void> {
    try {
      await this.checker.drain();
    } finally {
      await this.checker.close();
    }
  }

  /** Ends the worker threads without waiting for queued signatures. */
  async close(): Promise<void> {
    await this.checker.close();
  }
}
