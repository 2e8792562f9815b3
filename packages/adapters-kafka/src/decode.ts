import { Signal } from '@governor/contracts';

/** Why a record could not be handed to a subscriber. */
export type UndecodableReason = 'not_json' | 'invalid_message' | 'wrong_account';

export type Decoded =
  | { readonly ok: true; readonly value: Signal }
  | { readonly ok: false; readonly reason: UndecodableReason; readonly detail: string };

/** Parses a record's value as a `Signal` of `accountId`'s topic. A null value (tombstone) is not JSON. */
export function decodeSignal(value: Buffer | null, accountId: string): Decoded {
  if (value === null) return { ok: false, reason: 'not_json', detail: 'record has no value (tombstone)' };
  let json: unknown;
  try {
    json = JSON.parse(value.toString('utf8'));
  } catch (error) {
    return { ok: false, reason: 'not_json', detail: error instanceof Error ? error.message : String(error) };
  }
  const parsed = Signal.safeParse(json);
  if (!parsed.success) {
    const detail = parsed.error.issues
      .map((issue) => `${issue.path.map(String).join('.') || '(message)'}: ${issue.message}`)
      .join('; ');
    return { ok: false, reason: 'invalid_message', detail };
  }
  if (parsed.data.account_id !== accountId) {
    return {
      ok: false,
      reason: 'wrong_account',
      detail: `signal for account ${parsed.data.account_id} on the topic of ${accountId}`,
    };
  }
  return { ok: true, value: parsed.data };
}
