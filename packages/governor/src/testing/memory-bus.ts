import { systemClock } from '../clock';
import type { Clock, Delivery, Signal, SignalBus, SubscribeOptions } from '../ports';

interface Topic {
  readonly subscribers: Set<(d: Delivery) => void>;
  /** Signals published before anyone subscribed, delivered on subscription (Pub/Sub retains them). */
  readonly backlog: Signal[];
}

/** One subscribe call, as the bus saw it: for tests of who subscribed with which flow control. */
export interface BusSubscription {
  readonly accountId: string;
  readonly options: SubscribeOptions | undefined;
  /** False once its stop has been called. */
  readonly active: boolean;
}

/**
 * The embedded default's signal transport: one in-process topic per tenant, ordered delivery,
 * and redelivery of nacked signals after `redeliveryMs` (as Pub/Sub's ack deadline would).
 */
export class MemoryBus implements SignalBus {
  private readonly topics = new Map<string, Topic>();
  /** Deliveries handed out and not yet settled, for tests and for a clean stop. */
  outstanding = 0;
  private readonly subscribed: Array<{
    accountId: string;
    options: SubscribeOptions | undefined;
    active: boolean;
  }> = [];
  private subscribeFault: Error | null = null;

  constructor(
    private readonly clock: Clock = systemClock,
    private readonly redeliveryMs = 200,
  ) {}

  createTopic(accountId: string): Promise<void> {
    if (!this.topics.has(accountId)) this.topics.set(accountId, { subscribers: new Set(), backlog: [] });
    return Promise.resolve();
  }

  deleteTopic(accountId: string): Promise<void> {
    this.topics.delete(accountId);
    return Promise.resolve();
  }

  topicExists(accountId: string): Promise<boolean> {
    return Promise.resolve(this.topics.has(accountId));
  }

  publish(signal: Signal): Promise<void> {
    const topic = this.topics.get(signal.account_id);
    if (!topic) return Promise.reject(new Error(`topic tenants.${signal.account_id}.signals does not exist`));
    if (topic.subscribers.size === 0) topic.backlog.push(signal);
    else this.deliver(signal.account_id, signal);
    return Promise.resolve();
  }

  subscribe(
    accountId: string,
    onDelivery: (delivery: Delivery) => void,
    options?: SubscribeOptions,
  ): Promise<() => Promise<void>> {
    const fault = this.subscribeFault;
    this.subscribeFault = null;
    if (fault) return Promise.reject(fault);
    const topic = this.topics.get(accountId);
    if (!topic) return Promise.reject(new Error(`topic tenants.${accountId}.signals does not exist`));
    const subscription = { accountId, options, active: true };
    this.subscribed.push(subscription);
    topic.subscribers.add(onDelivery);
    for (const signal of topic.backlog.splice(0)) this.deliver(accountId, signal);
    return Promise.resolve(() => {
      subscription.active = false;
      topic.subscribers.delete(onDelivery);
      return Promise.resolve();
    });
  }

  /** Every subscribe call that succeeded, in order, stopped ones included. */
  get subscriptions(): readonly BusSubscription[] {
    return this.subscribed.map((s) => ({ ...s }));
  }

  /** The subscriptions of `accountId` not yet stopped, oldest (the one delivered to) first. */
  activeSubscriptions(accountId: string): BusSubscription[] {
    return this.subscriptions.filter((s) => s.accountId === accountId && s.active);
  }

  /** Fails the next subscribe with `error`, as a transport that is briefly unreachable does. */
  failNextSubscribe(error: Error): void {
    this.subscribeFault = error;
  }

  private deliver(accountId: string, signal: Signal): void {
    const topic = this.topics.get(accountId);
    if (!topic) return;
    const subscriber = [...topic.subscribers][0];
    if (!subscriber) {
      topic.backlog.push(signal);
      return;
    }
    let settled = false;
    this.outstanding += 1;
    const settle = () => {
      if (settled) return false;
      settled = true;
      this.outstanding -= 1;
      return true;
    };
    subscriber({
      signal,
      ack: () => void settle(),
      nack: () => {
        if (settle()) this.clock.setTimeout(() => this.deliver(accountId, signal), this.redeliveryMs);
      },
    });
  }
}
