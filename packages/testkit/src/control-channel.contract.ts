import { setTimeout as sleep } from 'node:timers/promises';
import type { ControlChannel, ControlMessage } from '@governor/governor';
import { rejectionOf, waitUntil } from './contract-helpers';

/** A fresh control channel with no subscriptions for one contract test, and its timing. */
export interface ControlUnderTest {
  readonly channel: ControlChannel;
  cleanup(): Promise<void>;
  /** How long an expected delivery (a first one, or a nacked message's redelivery) may take. Default 2 s. */
  readonly timeoutMs?: number;
  /** How long nothing must arrive to conclude nothing will: longer than the redelivery delay. */
  readonly quietMs: number;
}

function entitlement(n: number): ControlMessage {
  return {
    kind: 'entitlement',
    event: {
      type: 'entitlement.created',
      entitlement_id: `ent-${n}`,
      account_id: `acct-${n}`,
      sku_id: 'sku-basic',
      plan_type: 'basic',
      region: 'us-central1',
      occurred_at: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(),
    },
    correlation_id: `corr-${n}`,
  };
}

function policy(n: number): ControlMessage {
  return {
    kind: 'policy',
    policy: { policy_version: `1.0.${n}`, plan_type: 'basic', nested: { list: [n, 'x'] } },
    force: n % 2 === 0,
    ...(n % 2 === 0 ? { forced_by: 'ops' } : {}),
    correlation_id: `corr-${n}`,
  };
}

function message(n: number): ControlMessage {
  return n % 2 === 0 ? policy(n) : entitlement(n);
}

/** Everything one worker received, in arrival order. */
class Received {
  readonly messages: ControlMessage[] = [];
  /** What the worker does with each message; ack by default. */
  settle: (settle: { ack(): void; nack(): void }, message: ControlMessage) => void = (s) => s.ack();

  readonly handler = (m: ControlMessage, settle: { ack(): void; nack(): void }): void => {
    this.messages.push(m);
    this.settle(settle, m);
  };

  get ids(): string[] {
    return this.messages.map((m) => m.correlation_id ?? '?');
  }
}

/**
 * The behaviour every `ControlChannel` adapter must have, as a jest suite: call it at the top
 * level of the adapter's test file. `make` is called before each test and must return a channel
 * no earlier test has used; `cleanup` after each. Real timers, every wait bounded.
 */
export function describeControlChannelContract(name: string, make: () => Promise<ControlUnderTest>): void {
  describe(`ControlChannel contract: ${name}`, () => {
    let subject: ControlUnderTest;
    let channel: ControlChannel;
    const stops: Array<() => Promise<void>> = [];

    beforeEach(async () => {
      subject = await make();
      channel = subject.channel;
    });

    afterEach(async () => {
      for (const stop of stops.splice(0)) await stop();
      await subject.cleanup();
    });

    async function subscribe(workerId: string, received = new Received()): Promise<Received> {
      stops.push(await channel.subscribe(workerId, received.handler));
      return received;
    }

    /** Waits (bounded by the subject's timeout) until `done` holds; fails the test if it never does. */
    const until = (what: string, done: () => boolean) => waitUntil(what, done, subject.timeoutMs ?? 2_000);

    async function expectNothingMore(...workers: Received[]): Promise<void> {
      const before = workers.map((w) => w.ids);
      await sleep(subject.quietMs);
      expect(workers.map((w) => w.ids)).toEqual(before);
    }

    it('a broadcast reaches every subscribed worker, in publish order, intact', async () => {
      const a = await subscribe('worker-a');
      const b = await subscribe('worker-b');
      const sent = Array.from({ length: 10 }, (_, n) => message(n));
      for (const m of sent) await channel.publish(m);
      await until('10 messages at each worker', () => a.messages.length >= 10 && b.messages.length >= 10);
      expect(a.messages).toEqual(sent);
      expect(b.messages).toEqual(sent);
      await expectNothingMore(a, b);
    });

    it('a nacked message is delivered again; once acked, it is not', async () => {
      const a = await subscribe('worker-a');
      const b = await subscribe('worker-b');
      let nacks = 2;
      a.settle = (s) => (nacks-- > 0 ? s.nack() : s.ack());
      await channel.publish(message(1));
      await until('a delivery and two redeliveries', () => a.messages.length >= 3);
      expect(a.messages).toEqual([message(1), message(1), message(1)]);
      // One worker's nack is its own: the other worker saw the message once.
      await until('the other worker', () => b.messages.length >= 1);
      await expectNothingMore(a, b);
      expect(b.ids).toEqual(['corr-1']);
    });

    it('a message is settled once: a second ack or nack is ignored', async () => {
      const a = await subscribe('worker-a');
      let redeliveries = 0;
      a.settle = (s, m) => {
        if (m.correlation_id === 'corr-1') {
          s.ack();
          s.nack();
        } else if (redeliveries++ === 0) {
          s.nack();
          s.ack();
        } else {
          s.ack();
        }
      };
      await channel.publish(message(1));
      await channel.publish(message(2));
      await until('the messages and the nacked one again', () => a.messages.length >= 3);
      await expectNothingMore(a);
      expect(a.ids).toEqual(['corr-1', 'corr-2', 'corr-2']);
    });

    it('an invalid message is rejected at publish, with a code, and reaches no worker', async () => {
      const a = await subscribe('worker-a');
      const invalid = [
        { kind: 'policy', force: true },
        { kind: 'reboot' },
        {
          ...entitlement(1),
          event: { ...(entitlement(1) as { event: object }).event, account_id: 'Not An Id' },
        },
        { ...policy(2), unexpected: true },
      ] as unknown as ControlMessage[];
      for (const m of invalid) {
        const error = await rejectionOf(channel.publish(m));
        expect(error).toBeInstanceOf(Error);
        expect(typeof (error as { code?: unknown }).code).toBe('string');
      }
      await channel.publish(message(3));
      await until('the valid message', () => a.messages.length >= 1);
      await expectNothingMore(a);
      expect(a.ids).toEqual(['corr-3']);
    });

    it('a worker that stops keeps its place: what it held unsettled and what came meanwhile arrive on its next subscribe', async () => {
      const first = new Received();
      first.settle = () => undefined;
      const stop = await channel.subscribe('worker-a', first.handler);
      await channel.publish(message(1));
      await until('the first delivery', () => first.messages.length >= 1);
      await stop();
      await channel.publish(message(2));
      await expectNothingMore(first);
      expect(first.ids).toEqual(['corr-1']);

      const second = await subscribe('worker-a');
      await until('the held and the new message', () => second.messages.length >= 2);
      await expectNothingMore(second);
      expect(second.messages).toEqual([message(1), message(2)]);
    });

    it('subscribe rejects a worker id that cannot name a subscription', async () => {
      for (const id of ['', 'Worker-A', 'worker_a', '-worker', 'w'.repeat(64)]) {
        const error = await rejectionOf(channel.subscribe(id, () => undefined));
        expect((error as Error).message).toMatch(/worker_id/);
      }
    });
  });
}
