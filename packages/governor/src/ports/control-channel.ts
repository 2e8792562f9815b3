import type { ControlMessage } from '@governor/contracts';

/** What travels on `governor.control`: an entitlement event as the ingress forwards it, or a policy push. */
export type { ControlMessage, EntitlementEvent } from '@governor/contracts';

/**
 * The control topic (`governor.control`): a broadcast from the ingress to every worker. Each
 * worker has its own subscription, so every worker sees every message once it has subscribed.
 */
export interface ControlChannel {
  publish(message: ControlMessage): Promise<void>;
  /** Subscribes `workerId`; ack once handled, nack to see the message again. */
  subscribe(
    workerId: string,
    onMessage: (message: ControlMessage, settle: { ack(): void; nack(): void }) => void,
  ): Promise<() => Promise<void>>;
}
