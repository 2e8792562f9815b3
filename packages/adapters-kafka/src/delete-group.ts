import type { Admin } from 'kafkajs';
import { kafkaErrorType } from './errors';

/**
 * Group errors that mean "the group coordinator is not ready yet, ask again": the coordinator is
 * loading `__consumer_offsets` (a fresh broker creates it on the first group request; a restarted
 * one reloads it), or it is not known or has moved. kafkajs's deleteGroups gives up on these at
 * once: it reports them per group in a `KafkaJSDeleteGroupsError`, which its retrier does not
 * recognise.
 */
const COORDINATOR_NOT_READY = new Set([
  'GROUP_LOAD_IN_PROGRESS',
  'GROUP_COORDINATOR_NOT_AVAILABLE',
  'NOT_COORDINATOR_FOR_GROUP',
]);

/** How long deleteGroup keeps asking a coordinator that is not ready. */
export const GROUP_COORDINATOR_WAIT_MS = 15_000;

export interface DeleteGroupOptions {
  /** Give up (rethrow) once the coordinator has not been ready for this long. */
  readonly waitMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * Deletes a consumer group and its committed offsets. A group that does not exist (never
 * subscribed) is fine, and so is one that is not empty (another worker's consumer is still in
 * it; Kafka drops a deleted topic's offsets from its groups anyway). A coordinator that is not
 * ready is asked again, with backoff, for up to `waitMs`; anything else is thrown.
 */
export async function deleteGroup(
  admin: Pick<Admin, 'deleteGroups'>,
  groupId: string,
  options: DeleteGroupOptions = {},
): Promise<void> {
  const waitMs = options.waitMs ?? GROUP_COORDINATOR_WAIT_MS;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const deadline = Date.now() + waitMs;
  for (let delay = 100; ; delay = Math.min(delay * 2, 1_000)) {
    try {
      await admin.deleteGroups([groupId]);
      return;
    } catch (error) {
      const type = groupErrorType(error);
      if (type === 'GROUP_ID_NOT_FOUND' || type === 'NON_EMPTY_GROUP') return;
      if (type === undefined || !COORDINATOR_NOT_READY.has(type) || Date.now() + delay > deadline)
        throw error;
      await sleep(delay);
    }
  }
}

/** kafkajs reports deleteGroups failures per group (`KafkaJSDeleteGroupsError.groups[].error`). */
export function groupErrorType(error: unknown): string | undefined {
  const groups = (error as { groups?: Array<{ error?: unknown }> } | null)?.groups;
  const first = groups?.find((g) => g.error !== undefined)?.error;
  return kafkaErrorType(first) ?? kafkaErrorType(error);
}
