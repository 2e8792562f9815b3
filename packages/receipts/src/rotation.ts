import type { PublicKeyEntry } from '@governor/contracts';
import { appendReceipt, type Appended, type ChainHead } from './chain';
import type { SigningKey } from './keys';

export interface Rotation {
  readonly appended: Appended;
  /** keys.json entries after the rotation: the old key closed, the new one open. */
  readonly keys: PublicKeyEntry[];
}

/**
 * Rotates a chain's signing key: a `key_rotated` receipt signed by the old key names the new
 * one, the old key's window closes just after that receipt, and the new key's window opens at it.
 */
export function rotateKey(
  head: ChainHead,
  keys: readonly PublicKeyEntry[],
  current: SigningKey,
  next: SigningKey,
  now: Date,
  owner: { account_id?: string; worker_id?: string },
): Rotation {
  const appended = appendReceipt(
    head,
    {
      operation: 'key_rotated',
      status: 'success',
      duration_ms: 0,
      ...owner,
      new_key_id: next.keyId,
      new_public_key: next.publicKey.toString('base64'),
    },
    current,
    { now },
  );
  const at = appended.body.timestamp;
  // The old key stays valid for the millisecond of its last receipt: windows are [not_before, not_after).
  const closeAt = new Date(Date.parse(at) + 1).toISOString();
  const updated = keys.map((k) =>
    k.key_id === current.keyId && k.not_after === null ? { ...k, not_after: closeAt } : k,
  );
  if (!updated.some((k) => k.key_id === next.keyId)) updated.push(next.publicEntry(at));
  return { appended, keys: updated };
}
