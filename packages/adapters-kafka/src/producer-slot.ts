import type { Message, Producer } from 'kafkajs';

interface Slot {
  readonly client: Promise<Producer>;
  /** Topics this producer has sent to: kafkajs refreshes their metadata from then on. */
  readonly topics: Set<string>;
  readonly inFlight: Set<Promise<void>>;
}

/**
 * The bus's one producer, connected on first use and replaceable. kafkajs keeps refreshing the
 * metadata of every topic a producer has sent to, and once one of them is deleted every later
 * send of that producer fails; the only way out is a new producer. The old one is disconnected
 * only after its sends in flight have settled: disconnecting under a send that is still
 * retrying makes kafkajs reconnect behind it, and that socket would keep the process alive.
 */
export class ProducerSlot {
  private current: Slot | undefined;
  private readonly retiring = new Set<Promise<void>>();

  constructor(private readonly create: () => Producer) {}

  /** Sends one record; resolves once the broker has it (acks from all in-sync replicas). */
  send(topic: string, message: Message): Promise<void> {
    const slot = (this.current ??= this.open());
    slot.topics.add(topic);
    const sending = slot.client.then(async (producer) => {
      await producer.send({ topic, acks: -1, messages: [message] });
    });
    slot.inFlight.add(sending);
    void sending.then(
      () => slot.inFlight.delete(sending),
      () => slot.inFlight.delete(sending),
    );
    return sending;
  }

  hasSentTo(topic: string): boolean {
    return this.current?.topics.has(topic) ?? false;
  }

  /** Replaces the producer: the next send connects a new one. */
  retire(): void {
    const slot = this.current;
    if (!slot) return;
    this.current = undefined;
    const done = drain(slot).finally(() => this.retiring.delete(done));
    this.retiring.add(done);
  }

  /** Retires the producer and waits until every producer this slot had is disconnected. */
  async close(): Promise<void> {
    this.retire();
    await Promise.all([...this.retiring]);
  }

  private open(): Slot {
    const producer = this.create();
    const client = producer.connect().then(() => producer);
    const slot: Slot = { client, topics: new Set(), inFlight: new Set() };
    void client.catch(() => {
      // Not kept: the next send tries a new connection.
      if (this.current === slot) this.current = undefined;
    });
    return slot;
  }
}

async function drain(slot: Slot): Promise<void> {
  await Promise.allSettled([...slot.inFlight]);
  await slot.client.then((p) => p.disconnect()).catch(() => undefined);
}
