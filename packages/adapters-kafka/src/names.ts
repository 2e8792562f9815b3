import { AccountId } from '@governor/contracts';
import { invalidArgument } from './errors';

/** A namespace is a topic-name prefix: Kafka's legal topic characters, no leading dot. */
const NAMESPACE_PATTERN = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}$/;

export function checkNamespace(namespace: string | undefined): void {
  if (namespace !== undefined && !NAMESPACE_PATTERN.test(namespace)) {
    throw invalidArgument(
      `namespace must match ${NAMESPACE_PATTERN.source} (it prefixes topic and group names), got '${namespace}'`,
    );
  }
}

export function checkAccountId(accountId: string): void {
  const parsed = AccountId.safeParse(accountId);
  if (!parsed.success)
    throw invalidArgument(parsed.error.issues[0]?.message ?? 'invalid account_id', parsed.error);
}

/** `tenants.{account_id}.signals`, or `{namespace}.tenants.{account_id}.signals` on a shared cluster. */
export function signalTopicName(accountId: string, namespace?: string): string {
  const topic = `tenants.${accountId}.signals`;
  return namespace === undefined ? topic : `${namespace}.${topic}`;
}

/**
 * The tenant's consumer group, named like the Pub/Sub subscription (`tenants.{account_id}.signals.governor`):
 * the group holds the tenant's committed offsets, so they follow the tenant from worker to worker.
 */
export function signalGroupId(accountId: string, namespace?: string): string {
  return `${signalTopicName(accountId, namespace)}.governor`;
}
