import type { Kafka } from 'kafkajs';
import type { Delivery } from '@governor/governor';
import { resolveOptions, type KafkaLogLine } from '../options';
import { TenantConsumer } from '../tenant-consumer';
import { TestClock, settle } from '@governor/governor/testing';

const TOPIC = 'tenants.acme.signals';

type Listener = (event: { payload: unknown }) => void;

/**
 * A kafkajs consumer stand-in: records calls, joins with partition 0 on run, and lets the test
 * hand out records and crash it as kafkajs would (a crash kafkajs gives up on disconnects first).
 */
class FakeConsumer {
  readonly events = { GROUP_JOIN: 'join', CRASH: 'crash', COMMIT_OFFSETS: 'commit' } as const;
  readonly calls: string[] = [];
  private readonly listeners = new Map<string, Listener[]>();
  private eachMessage: ((payload: unknown) => Promise<void>) | undefined;
  /** When set, the next run fails to start (kafkajs reports that as a crash, and run resolves). */
  failNextStart: Error | undefined;

  on(name: string, listener: Listener): void {
    this.listeners.set(name, [...(this.listeners.get(name) ?? []), listener]);
  }
  emit(name: string, payload: unknown): void {
    for (const l of this.listeners.get(name) ?? []) l({ payload });
  }
  connect() {
    this.calls.push('connect');
    return Promise.resolve();
  }
  subscribe() {
    this.calls.push('subscribe');
    return Promise.resolve();
  }
  run({ eachMessage }: { eachMessage: (payload: unknown) => Promise<void> }) {
    this.calls.push('run');
    const failure = this.failNextStart;
    this.failNextStart = undefined;
    if (failure) this.crash(failure, false);
    else {
      this.eachMessage = eachMessage;
      this.emit(this.events.GROUP_JOIN, { memberAssignment: { [TOPIC]: [0] } });
    }
    return Promise.resolve();
  }
  disconnect() {
    this.calls.push('disconnect');
    this.eachMessage = undefined;
    return Promise.resolve();
  }
  commitOffsets(offsets: Array<{ topic: string; partition: number; offset: string }>) {
    this.calls.push(`commit ${offsets.map((o) => o.offset).join(',')}`);
    this.emit(this.events.COMMIT_OFFSETS, { topics: [{ topic: TOPIC, partitions: offsets }] });
    return Promise.resolve();
  }
  pause() {}
  resume() {}
  seek({ offset }: { offset: string }) {
    this.calls.push(`seek ${offset}`);
  }

  crash(error: Error, restart: boolean): void {
    if (!restart) this.eachMessage = undefined;
    this.emit(this.events.CRASH, { error, restart });
  }
  async deliver(offset: number): Promise<void> {
    if (!this.eachMessage) throw new Error('the consumer is not running');
    const signal = {
      signal_id: `acme-s${offset}`,
      account_id: 'acme',
      type: 'action',
      action_kind: 'noop',
      params: {},
      published_at: 1,
    };
    await this.eachMessage({
      topic: TOPIC,
      partition: 0,
      message: { offset: String(offset), value: Buffer.from(JSON.stringify(signal)) },
    });
  }
}

const runs = (fake: FakeConsumer) => fake.calls.filter((c) => c === 'run').length;

/** A consumer on `fake` whose waits run on `clock`; each delivery is acked unless `handle` says otherwise. */
async function started(fake: FakeConsumer, clock = new TestClock(), handle = (d: Delivery) => d.ack()) {
  const lines: KafkaLogLine[] = [];
  const deliveries: Delivery[] = [];
  let closed = 0;
  const consumer = await TenantConsumer.start({
    kafka: { consumer: () => fake } as unknown as Kafka,
    accountId: 'acme',
    topic: TOPIC,
    groupId: `${TOPIC}.governor`,
    maxOutstanding: 10,
    onDelivery: (d) => {
      deliveries.push(d);
      handle(d);
    },
    options: resolveOptions({ brokers: ['127.0.0.1:9092'], log: (l) => lines.push(l), clock }),
    onClosed: () => (closed += 1),
  });
  return { consumer, lines, deliveries, closed: () => closed };
}

describe('TenantConsumer after a crash kafkajs does not restart from', () => {
  it('joins the group again by itself (after 1 s) and carries on delivering; the subscription stays open', async () => {
    const fake = new FakeConsumer();
    const clock = new TestClock();
    const { consumer, lines, deliveries, closed } = await started(fake, clock);
    await fake.deliver(0);
    await settle();
    expect(fake.calls).toContain('commit 1');

    // What a restarted broker's first seconds look like to kafkajs: it gives up, disconnected.
    fake.crash(Object.assign(new Error('Failed to find group coordinator'), { retriable: false }), false);
    expect(lines.at(-1)).toMatchObject({
      level: 'warn',
      msg: expect.stringMatching(/kafkajs will not restart it; joining the group again/),
      retry_in_ms: 1_000,
    });
    clock.increment(999);
    await settle();
    expect(runs(fake)).toBe(1);
    clock.increment(1);
    await settle();
    expect(fake.calls).toEqual(['connect', 'subscribe', 'run', 'commit 1', 'connect', 'subscribe', 'run']);

    // The committed offset is where kafkajs reads from again; later records arrive as before.
    await fake.deliver(1);
    expect(deliveries.map((d) => d.signal.signal_id)).toEqual(['acme-s0', 'acme-s1']);
    await settle();
    expect(fake.calls).toContain('commit 2');
    expect(closed()).toBe(0);
    await consumer.stop();
    expect(closed()).toBe(1);
  });

  it('a rejoin that fails to start is tried again with a longer wait', async () => {
    const fake = new FakeConsumer();
    const clock = new TestClock();
    const { consumer, lines, closed } = await started(fake, clock);
    fake.failNextStart = new Error('Failed to find group coordinator');
    fake.crash(new Error('Failed to find group coordinator'), false);
    clock.increment(1_000);
    await settle();
    expect(runs(fake)).toBe(2);
    clock.increment(1_999);
    await settle();
    expect(runs(fake)).toBe(2);
    clock.increment(1);
    await settle();
    expect(runs(fake)).toBe(3);
    expect(lines.filter((l) => /joining the group again/.test(l.msg)).map((l) => l.retry_in_ms)).toEqual([
      1_000, 2_000,
    ]);
    await fake.deliver(0);
    expect(closed()).toBe(0);
    await consumer.stop();
  });

  it('a crash after the group was joined again waits the first delay again', async () => {
    const fake = new FakeConsumer();
    const clock = new TestClock();
    const { consumer, lines } = await started(fake, clock);
    fake.failNextStart = new Error('Failed to find group coordinator');
    fake.crash(new Error('Failed to find group coordinator'), false);
    clock.increment(1_000);
    await settle();
    clock.increment(2_000);
    await settle();
    expect(runs(fake)).toBe(3);
    fake.crash(new Error('Failed to find group coordinator'), false);
    expect(clock.pending()).toEqual([1_000]);
    expect(lines.filter((l) => /joining the group again/.test(l.msg)).map((l) => l.retry_in_ms)).toEqual([
      1_000, 2_000, 1_000,
    ]);
    await consumer.stop();
  });

  it("stops for good only when the tenant's topic is gone", async () => {
    const fake = new FakeConsumer();
    const clock = new TestClock();
    const { lines, closed } = await started(fake, clock);
    fake.crash(
      Object.assign(new Error('This server does not host this topic-partition'), {
        type: 'UNKNOWN_TOPIC_OR_PARTITION',
      }),
      false,
    );
    expect(closed()).toBe(1);
    expect(lines.at(-1)).toMatchObject({ level: 'error', msg: expect.stringMatching(/no longer exists/) });
    expect(clock.pending()).toEqual([]);
    clock.increment(60_000);
    await settle();
    expect(runs(fake)).toBe(1);
  });

  it('stop() while a rejoin is pending cancels it', async () => {
    const fake = new FakeConsumer();
    const clock = new TestClock();
    const { consumer } = await started(fake, clock);
    fake.crash(new Error('Failed to find group coordinator'), false);
    await consumer.stop();
    expect(clock.pending()).toEqual([]);
    clock.increment(60_000);
    await settle();
    expect(runs(fake)).toBe(1);
    expect(fake.calls.at(-1)).toBe('disconnect');
  });

  it('a crash during the first start is what subscribe reports; nothing rejoins', async () => {
    const fake = new FakeConsumer();
    const clock = new TestClock();
    fake.failNextStart = new Error('Failed to find group coordinator');
    await expect(started(fake, clock)).rejects.toMatchObject({ code: 'UNAVAILABLE', retryable: true });
    expect(clock.pending()).toEqual([]);
    clock.increment(60_000);
    await settle();
    expect(fake.calls).toEqual(['connect', 'subscribe', 'run', 'disconnect']);
  });
});

describe('TenantConsumer redelivery of a nacked signal', () => {
  /** Nacks each signal the first time it is delivered, acks it after. */
  function nackOnce() {
    const seen = new Set<string>();
    return (d: Delivery) => {
      if (seen.has(d.signal.signal_id)) d.ack();
      else {
        seen.add(d.signal.signal_id);
        d.nack();
      }
    };
  }

  it('seeks back to it once the redelivery delay has passed on the clock, and commits it once acked', async () => {
    const fake = new FakeConsumer();
    const clock = new TestClock();
    const { consumer, deliveries } = await started(fake, clock, nackOnce());
    await fake.deliver(0);
    clock.increment(999);
    expect(fake.calls).not.toContain('seek 0');
    clock.increment(1);
    expect(fake.calls.at(-1)).toBe('seek 0');

    await fake.deliver(0);
    await settle();
    expect(deliveries.map((d) => d.signal.signal_id)).toEqual(['acme-s0', 'acme-s0']);
    expect(fake.calls.at(-1)).toBe('commit 1');
    await consumer.stop();
  });

  it('seeks to the lowest nacked offset due, so one seek does not jump over another', async () => {
    const fake = new FakeConsumer();
    const clock = new TestClock();
    const { consumer } = await started(fake, clock, (d) => d.nack());
    await fake.deliver(0);
    clock.increment(500);
    await fake.deliver(1);
    clock.increment(500);
    clock.increment(500);
    expect(fake.calls.filter((c) => c.startsWith('seek'))).toEqual(['seek 0', 'seek 0']);
    await consumer.stop();
  });

  it('a nacked signal fetched again before its delay passes is not sought back to', async () => {
    const fake = new FakeConsumer();
    const clock = new TestClock();
    const { consumer } = await started(fake, clock, nackOnce());
    await fake.deliver(0);
    // A kafkajs restart reads again from the committed offset, below the nacked one.
    await fake.deliver(0);
    expect(clock.pending()).toEqual([]);
    clock.increment(5_000);
    expect(fake.calls).not.toContain('seek 0');
    await consumer.stop();
  });

  it('stop() drops the pending redeliveries; the group offset stays at the nacked signal for the next subscriber', async () => {
    const fake = new FakeConsumer();
    const clock = new TestClock();
    const { consumer } = await started(fake, clock, (d) => d.nack());
    await fake.deliver(0);
    await consumer.stop();
    expect(clock.pending()).toEqual([]);
    clock.increment(5_000);
    expect(fake.calls.filter((c) => c.startsWith('seek') || c.startsWith('commit'))).toEqual(['commit 0']);
  });
});
