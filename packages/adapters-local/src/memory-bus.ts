import { systemClock, type Clock, type Delivery, type Signal, type SignalBus } from '@governor/governor';

interface Topic {
  readonly subscribers: Set<(d: Delivery) => void>;
  /** Signals published before anyone subscribed, delivered on subscription (Pub/Sub retains them). */
  readonly backlog: Signal[];
}

/**
 * The embedded default's signal transport: one in-process topic per tenant, ordered delivery,
 * and redelivery of nacked signals after `redeliveryMs` (as Pub/Sub's ack deadline would).
 */
export class MemoryBus implements SignalBus {
  private readonly topics = new Map<string, Topic>();
  /** Deliveries handed out and not yet settled, for tests and for a clean stop. */
  outstanding = 0;

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

  subscribe(accountId: string, onDelivery: (delivery: Delivery) => void): Promise<() => Promise<void>> {
    const topic = this.topics.get(accountId);
    if (!topic) return Promise.reject(new Error(`topic tenants.${accountId}.signals does not exist`));
    topic.subscribers.add(onDelivery);
    for (const signal of topic.backlog.splice(0)) this.deliver(accountId, signal);
    return Promise.resolve(() => {
      topic.subscribers.delete(onDelivery);
      return Promise.resolve();
    });
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
