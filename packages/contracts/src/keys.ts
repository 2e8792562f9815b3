import { z } from 'zod';
import { Base64, KeyId, Timestamp } from './ids';

/** One public key of keys.json with the window `[not_before, not_after)` in which it may sign. */
export const PublicKeyEntry = z.strictObject({
  key_id: KeyId,
  public_key: Base64,
  not_before: Timestamp,
  not_after: Timestamp.nullable(),
});
export type PublicKeyEntry = z.infer<typeof PublicKeyEntry>;

export const KeysFile = z.strictObject({ keys: z.array(PublicKeyEntry) });
export type KeysFile = z.infer<typeof KeysFile>;
