import { setTimeout as sleep } from 'node:timers/promises';
import type { Delivery, Signal, SignalBus } from '@governor/governor';
import { waitUntil } from './contract-helpers';
import { TEST_EPOCH } from './entries';

/** A fresh bus with no topics for one contract test, how to dispose of it, and its timing. */
export interface BusUnderTest {
  readonly bus: SignalBus;
  cleanup(): Promise<void>;
  /** How long an expected delivery (a first one, or a nacked signal's redelivery) may take. Default 2 s. */
  readonly timeoutMs?: number;
  /**
   * How long nothing must arrive for the suite to conclude that nothing will: longer than the
   * bus's redelivery delay, so an acked signal that came back would be seen.
   */
  readonly quietMs: number;
}

function signal(accountId: string, n: number): Signal {
  return {
    signal_id: `${accountId}-s${n}`,
    account_id: accountId,
    type: 'action',
    action_kind: 'noop',
    params: { n, note: `signal ${n}` },
    correlation_id: `corr-${accountId}-${n}`,
    published_at: TEST_EPOCH + n,
  };
}

/** Everything a subscription received, in arrival order. */
class Received {
  readonly deliveries: Delivery[] = [];
  /** What the handler does with each delivery; ack by default. */
  settle: (d: Delivery) => void = (d) => d.ack();

  readonly handler = (d: Delivery): void => {
    this.deliveries.push(d);
    this.settle(d);
  };

  get ids(): string[] {
    return this.deliveries.map((d) => d.signal.signal_id);
  }
}

/**
 * The behaviour every `SignalBus` adapter must have, as a jest suite: call it at the top level of
 * the adapter's test file. `make` is called before each test and must return a bus without the
 * suite's topics; `cleanup` after each. The suite runs on real timers and every wait is bounded.
 */
export function describeSignalBusContract(name: string, make: () => Promise<BusUnderTest>): void {
  describe(`SignalBus contract: ${name}`, () => {
    let subject: BusUnderTest;
    let bus: SignalBus;
    const stops: Array<() => Promise<void>> = [];

    beforeEach(async () => {
      subject = await make();
      bus = subject.bus;
    });

    afterEach(async () => {
      for (const stop of stops.splice(0)) await stop();
      await subject.cleanup();
    });

    async function subscribe(accountId: string, received = new Received()): Promise<Received> {
      stops.push(await bus.subscribe(accountId, received.handler));
      return received;
    }

    /** Waits (bounded by the subject's timeout) until `done` holds; fails the test if it never does. */
    const until = (what: string, done: () => boolean) => waitUntil(what, done, subject.timeoutMs ?? 2_000);

    /** Waits the quiet period and checks that `received` got nothing more. */
    async function expectNothingMore(received: Received): Promise<void> {
      const before = received.ids;
      await sleep(subject.quietMs);
      expect(received.ids).toEqual(before);
    }

    it('topicExists follows createTopic and deleteTopic, both of which are idempotent', async () => {
      expect(await bus.topicExists('acme')).toBe(false);
      await bus.createTopic('acme');
      await bus.createTopic('acme');
      expect(await bus.topicExists('acme')).toBe(true);
      expect(await bus.topicExists('globex')).toBe(false);
      await bus.deleteTopic('acme');
      await bus.deleteTopic('acme');
      expect(await bus.topicExists('acme')).toBe(false);
    });

    it('signals published before anyone subscribed are delivered on subscribe, in order, intact', async () => {
      await bus.createTopic('acme');
      const sent = [1, 2, 3].map((n) => signal('acme', n));
      for (const s of sent) await bus.publish(s);
      const received = await subscribe('acme');
      await until('3 deliveries', () => received.deliveries.length >= 3);
      expect(received.deliveries.map((d) => d.signal)).toEqual(sent);
      await expectNothingMore(received);
    });

    it('delivers each tenant its own signals, in publish order', async () => {
      await bus.createTopic('acme');
      await bus.createTopic('globex');
      const acme = await subscribe('acme');
      const globex = await subscribe('globex');
      for (let n = 0; n < 25; n++) {
        await bus.publish(signal('acme', n));
        await bus.publish(signal('globex', n));
      }
      await until('25 deliveries each', () => acme.deliveries.length >= 25 && globex.deliveries.length >= 25);
      expect(acme.ids).toEqual(Array.from({ length: 25 }, (_, n) => `acme-s${n}`));
      expect(globex.ids).toEqual(Array.from({ length: 25 }, (_, n) => `globex-s${n}`));
      await expectNothingMore(acme);
    });

    it('a nacked signal is delivered again; once acked, it is not', async () => {
      await bus.createTopic('acme');
      const received = await subscribe('acme');
      let nacks = 2;
      received.settle = (d) => {
        if (nacks-- > 0) d.nack();
        else d.ack();
      };
      await bus.publish(signal('acme', 1));
      await until('a delivery and two redeliveries', () => received.deliveries.length >= 3);
      expect(received.ids).toEqual(['acme-s1', 'acme-s1', 'acme-s1']);
      expect(received.deliveries[2]?.signal).toEqual(signal('acme', 1));
      await expectNothingMore(received);
    });

    it('an acked signal is not delivered again', async () => {
      await bus.createTopic('acme');
      const received = await subscribe('acme');
      await bus.publish(signal('acme', 1));
      await bus.publish(signal('acme', 2));
      await until('2 deliveries', () => received.deliveries.length >= 2);
      await expectNothingMore(received);
      expect(received.ids).toEqual(['acme-s1', 'acme-s2']);
    });

    it('publish to a deleted or never created topic rejects; other topics carry on', async () => {
      await expect(bus.publish(signal('initech', 1))).rejects.toBeDefined();
      await bus.createTopic('acme');
      await bus.createTopic('globex');
      const globex = await subscribe('globex');
      await bus.deleteTopic('acme');
      await expect(bus.publish(signal('acme', 1))).rejects.toBeDefined();
      expect(await bus.topicExists('globex')).toBe(true);
      await bus.publish(signal('globex', 1));
      await until('the globex delivery', () => globex.deliveries.length >= 1);
      expect(globex.ids).toEqual(['globex-s1']);
    });

    it('unsubscribe stops delivery, and a later subscriber gets what was published meanwhile', async () => {
      await bus.createTopic('acme');
      const first = new Received();
      const stop = await bus.subscribe('acme', first.handler);
      await bus.publish(signal('acme', 1));
      await until('the first delivery', () => first.deliveries.length >= 1);
      await stop();
      await bus.publish(signal('acme', 2));
      await expectNothingMore(first);
      expect(first.ids).toEqual(['acme-s1']);

      const second = await subscribe('acme');
      await until('the retained signal', () => second.deliveries.length >= 1);
      expect(second.ids).toEqual(['acme-s2']);
      await expectNothingMore(second);
    });
  });
}
