import type { Signal } from '@governor/contracts';

/** A signal as it travels on a tenant's topic `tenants.{account_id}.signals`. */
export type { Signal } from '@governor/contracts';

/** How a consumer settles a delivery: ack only once its receipts are durable; nack to redeliver. */
export interface Delivery {
  readonly signal: Signal;
  ack(): void;
  nack(): void;
}

export interface SubscribeOptions {
  /**
   * At most this many deliveries handed out and not yet settled (flow control); the governor
   * passes its in-flight limit plus its queue, so a transport never floods it.
   */
  readonly maxOutstanding?: number;
}

/** Per-tenant signal topics (Pub/Sub, Kafka, or the in-process bus). */
export interface SignalBus {
  createTopic(accountId: string): Promise<void>;
  deleteTopic(accountId: string): Promise<void>;
  topicExists(accountId: string): Promise<boolean>;
  publish(signal: Signal): Promise<void>;
  /** Delivers the tenant's signals in order; returns a function that stops the subscription. */
  subscribe(
    accountId: string,
    onDelivery: (delivery: Delivery) => void,
    options?: SubscribeOptions,
  ): Promise<() => Promise<void>>;
}
