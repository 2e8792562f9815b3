import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { KafkaBus, type KafkaBusOptions, type KafkaLogLine } from '@governor/adapters-kafka';
import type { Delivery, Signal } from '@governor/governor';
import { describeSignalBusContract, TEST_EPOCH } from '@governor/testkit';
import { backends, uniqueName } from '../support/backends';

// Against the real broker (infra/local/backends.sh up kafka). Every bus gets its own namespace,
// a prefix of its topic and group names, so tests never see each other's topics or offsets (the
// contract suite reuses fixed tenant names such as `acme`); afterEach deletes what a test made.

// Group joins and redelivery waits add up; the project's testTimeout does not reach here.
jest.setTimeout(30_000);

const kafka = new Kafka({
  clientId: 'governor-test',
  brokers: [...backends.kafka],
  logLevel: logLevel.NOTHING,
});
let admin: Admin;
beforeAll(async () => {
  admin = kafka.admin();
  await admin.connect();
});
afterAll(async () => {
  await admin.disconnect();
});

/** Fast timings: redelivery after 100 ms, fetch polls of 100 ms, the broker's minimum session. */
const FAST: Omit<KafkaBusOptions, 'brokers'> = {
  redeliveryDelayMs: 100,
  consumer: {
    sessionTimeoutMs: 6_000,
    heartbeatIntervalMs: 500,
    rebalanceTimeoutMs: 6_000,
    maxWaitTimeMs: 100,
  },
};

/** Deletes the topics and groups of a namespace (after its buses are closed). */
async function dropNamespace(namespace: string): Promise<void> {
  const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${namespace}.`));
  if (topics.length > 0) await admin.deleteTopics({ topics });
  const { groups } = await admin.listGroups();
  const mine = groups.map((g) => g.groupId).filter((g) => g.startsWith(`${namespace}.`));
  if (mine.length > 0) await admin.deleteGroups(mine).catch(() => undefined);
}

function capture(): { lines: KafkaLogLine[]; log: (line: KafkaLogLine) => void } {
  const lines: KafkaLogLine[] = [];
  return { lines, log: (line) => lines.push(line) };
}

describeSignalBusContract('KafkaBus on the local broker', () => {
  const namespace = uniqueName('contract');
  const bus = new KafkaBus({ brokers: [...backends.kafka], namespace, log: capture().log, ...FAST });
  return Promise.resolve({
    bus,
    cleanup: async () => {
      await bus.close();
      await dropNamespace(namespace);
    },
    timeoutMs: 10_000,
    // Longer than the redelivery delay plus a fetch poll, so an acked signal that came back is seen.
    quietMs: 800,
  });
});

async function until(what: string, done: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

function signal(accountId: string, n: number): Signal {
  return {
    signal_id: `${accountId}-s${n}`,
    account_id: accountId,
    type: 'action',
    action_kind: 'noop',
    params: { n },
    published_at: TEST_EPOCH + n,
  };
}

describe('KafkaBus on the local broker', () => {
  let namespace: string;
  let logged: ReturnType<typeof capture>;
  let bus: KafkaBus;
  const buses: KafkaBus[] = [];
  const account = 'acme';

  function newBus(options: Partial<KafkaBusOptions> = {}): KafkaBus {
    const b = new KafkaBus({ brokers: [...backends.kafka], namespace, log: logged.log, ...FAST, ...options });
    buses.push(b);
    return b;
  }

  /** The group's committed offset of partition 0, or -1 for none. */
  async function committed(b: KafkaBus): Promise<number> {
    const [topic] = await admin.fetchOffsets({ groupId: b.groupId(account), topics: [b.topicName(account)] });
    return Number(topic?.partitions[0]?.offset ?? -1);
  }

  /** Polls the committed offset until it is `expected` (commits are asynchronous to the ack). */
  async function expectCommitted(b: KafkaBus, expected: number): Promise<void> {
    const deadline = Date.now() + 5_000;
    while ((await committed(b)) !== expected && Date.now() < deadline) await sleep(50);
    expect(await committed(b)).toBe(expected);
  }

  beforeEach(() => {
    namespace = uniqueName('kbus');
    logged = capture();
    bus = newBus();
  });

  afterEach(async () => {
    for (const b of buses.splice(0)) await b.close();
    await dropNamespace(namespace);
  });

  it('creates one partition per tenant and publishes key = account_id, a signal_id header and the signal as JSON', async () => {
    await bus.createTopic(account);
    const topic = bus.topicName(account);
    expect(topic).toBe(`${namespace}.tenants.acme.signals`);
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(topics[0]?.partitions).toHaveLength(1);

    const sent = [signal(account, 1), { ...signal(account, 2), type: 'scale' as const, concurrency: 4 }];
    for (const s of sent) await bus.publish(s);
    const [offsets] = await admin.fetchTopicOffsets(topic).then((o) => o.map((p) => Number(p.high)));
    expect(offsets).toBe(2);

    const raw = kafka.consumer({ groupId: `${namespace}.raw`, maxWaitTimeInMs: 100 });
    const records: Array<{ key: string; header: string; value: unknown }> = [];
    try {
      await raw.connect();
      await raw.subscribe({ topics: [topic], fromBeginning: true });
      await raw.run({
        eachMessage: ({ message }) => {
          records.push({
            key: message.key?.toString() ?? '',
            header: String(message.headers?.signal_id),
            value: JSON.parse(message.value?.toString() ?? 'null'),
          });
          return Promise.resolve();
        },
      });
      await until('both records', () => records.length >= 2);
    } finally {
      await raw.disconnect();
    }
    expect(records).toEqual(sent.map((s) => ({ key: account, header: s.signal_id, value: s })));
  });

  it('flow control: with maxOutstanding 2, never more than 2 deliveries unsettled at once, in order', async () => {
    await bus.createTopic(account);
    for (let n = 0; n < 10; n++) await bus.publish(signal(account, n));
    const ids: string[] = [];
    let unsettled = 0;
    let most = 0;
    const stop = await bus.subscribe(
      account,
      (d) => {
        ids.push(d.signal.signal_id);
        unsettled += 1;
        most = Math.max(most, unsettled);
        setTimeout(() => {
          unsettled -= 1;
          d.ack();
        }, 30);
      },
      { maxOutstanding: 2 },
    );
    await until('10 deliveries', () => ids.length >= 10);
    await until('all settled', () => unsettled === 0);
    await stop();
    expect(most).toBe(2);
    expect(ids).toEqual(Array.from({ length: 10 }, (_, n) => `${account}-s${n}`));
    expect(await committed(bus)).toBe(10);
  });

  it('commits only the settled prefix: an ack after an unsettled delivery waits for it', async () => {
    await bus.createTopic(account);
    for (let n = 0; n < 3; n++) await bus.publish(signal(account, n));
    const held: Delivery[] = [];
    const stop = await bus.subscribe(account, (d) => {
      if (d.signal.signal_id === `${account}-s0`) held.push(d);
      else d.ack();
    });
    await until('s0 held', () => held.length === 1);
    await sleep(300);
    // Nothing committed past s0 (at most offset 0 itself: "nothing done yet").
    expect(await committed(bus)).toBeLessThanOrEqual(0);
    held[0]?.ack();
    await expectCommitted(bus, 3);
    await stop();
  });

  it('stop leaves unsettled deliveries uncommitted: the next subscriber gets them; a late ack does nothing', async () => {
    await bus.createTopic(account);
    for (let n = 0; n < 3; n++) await bus.publish(signal(account, n));
    const first: Delivery[] = [];
    const stop = await bus.subscribe(account, (d) => {
      first.push(d);
      // s0 and s2 acked, s1 left unsettled.
      if (d.signal.signal_id !== `${account}-s1`) d.ack();
    });
    await until('3 deliveries', () => first.length >= 3);
    await stop();
    first[1]?.ack();
    await sleep(200);
    expect(await committed(bus)).toBe(1);

    // A new bus, as another worker would be: same group, so it starts at the committed offset.
    const next = newBus();
    const second: string[] = [];
    const stopNext = await next.subscribe(account, (d) => {
      second.push(d.signal.signal_id);
      d.ack();
    });
    await until('the redelivery', () => second.length >= 2);
    await sleep(500);
    // s2 comes again: offsets are cumulative, so it could not be committed past unsettled s1.
    expect(second).toEqual([`${account}-s1`, `${account}-s2`]);
    await stopNext();
  });

  it('a nack seeks back; the signals after it that were acked are not delivered again', async () => {
    await bus.createTopic(account);
    for (let n = 0; n < 3; n++) await bus.publish(signal(account, n));
    const seen: string[] = [];
    let nacked = false;
    const stop = await bus.subscribe(account, (d) => {
      seen.push(d.signal.signal_id);
      if (d.signal.signal_id === `${account}-s0` && !nacked) {
        nacked = true;
        d.nack();
      } else {
        d.ack();
      }
    });
    await until('s0 again', () => seen.length >= 4);
    await sleep(800);
    expect(seen).toEqual([0, 1, 2, 0].map((n) => `${account}-s${n}`));
    await expectCommitted(bus, 3);
    await stop();
  });

  it('undecodable records are logged with the reason, skipped and committed; later signals still arrive', async () => {
    await bus.createTopic(account);
    const topic = bus.topicName(account);
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const bad = [
      { value: 'not json {', reason: 'not_json' },
      { value: JSON.stringify({ ...signal(account, 1), type: 'unknown' }), reason: 'invalid_message' },
      { value: JSON.stringify(signal('someone-else', 2)), reason: 'wrong_account' },
    ];
    try {
      await producer.send({ topic, messages: bad.map((b) => ({ key: account, value: b.value })) });
    } finally {
      await producer.disconnect();
    }
    await bus.publish(signal(account, 3));

    const delivered: string[] = [];
    const stop = await bus.subscribe(account, (d) => {
      delivered.push(d.signal.signal_id);
      d.ack();
    });
    await until('the good signal', () => delivered.length >= 1);
    await stop();
    expect(delivered).toEqual([`${account}-s3`]);
    const warnings = logged.lines.filter((l) => l.level === 'warn');
    expect(warnings.map((l) => [l.account_id, l.reason, l.offset])).toEqual(
      bad.map((b, i) => [account, b.reason, String(i)]),
    );
    expect(await committed(bus)).toBe(4);

    // Committed: a new subscriber sees none of them again.
    const again: string[] = [];
    const stopAgain = await bus.subscribe(account, (d) => {
      again.push(d.signal.signal_id);
      d.ack();
    });
    await sleep(800);
    await stopAgain();
    expect(again).toEqual([]);
  });

  it('a second worker subscribing the same tenant stands by, and takes over when the first stops', async () => {
    await bus.createTopic(account);
    const other = newBus();
    const a: string[] = [];
    const b: string[] = [];
    const stopA = await bus.subscribe(account, (d) => {
      a.push(d.signal.signal_id);
      d.ack();
    });
    const stopB = await other.subscribe(account, (d) => {
      b.push(d.signal.signal_id);
      d.ack();
    });
    for (let n = 0; n < 5; n++) await bus.publish(signal(account, n));
    await until('5 deliveries', () => a.length + b.length >= 5);
    // The single partition went to one member of the tenant's group; the other has nothing.
    const [owner, standby] = a.length > 0 ? [a, b] : [b, a];
    const stopOwner = a.length > 0 ? stopA : stopB;
    const stopStandby = a.length > 0 ? stopB : stopA;
    expect(owner).toHaveLength(5);
    expect(standby).toEqual([]);

    await stopOwner();
    for (let n = 5; n < 8; n++) await bus.publish(signal(account, n));
    await until('the standby takes over', () => standby.length >= 3);
    expect(standby).toEqual([5, 6, 7].map((n) => `${account}-s${n}`));
    expect(owner).toHaveLength(5);
    await stopStandby();
  });

  it('publish to a topic deleted behind the bus rejects with TOPIC_NOT_FOUND; other topics carry on', async () => {
    await bus.createTopic(account);
    await bus.createTopic('globex');
    await bus.publish(signal(account, 1));
    await bus.publish(signal('globex', 1));
    // Another worker's bus deletes the tenant; this bus still believes the topic exists.
    await newBus().deleteTopic(account);
    await expect(bus.publish(signal(account, 2))).rejects.toMatchObject({
      code: 'TOPIC_NOT_FOUND',
      retryable: false,
    });
    await bus.publish(signal('globex', 2));
    const [high] = await admin
      .fetchTopicOffsets(bus.topicName('globex'))
      .then((o) => o.map((p) => Number(p.high)));
    expect(high).toBe(2);
  });

  it('rejects what it cannot carry, with a code and what to do', async () => {
    await expect(bus.subscribe(account, () => undefined)).rejects.toMatchObject({
      code: 'TOPIC_NOT_FOUND',
      message: expect.stringContaining(`createTopic('${account}')`),
    });
    await expect(bus.publish(signal(account, 1))).rejects.toMatchObject({ code: 'TOPIC_NOT_FOUND' });
    expect(await bus.topicExists(account)).toBe(false);
    await expect(bus.createTopic('Not_An_Account')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await bus.createTopic(account);
    await expect(bus.publish({ ...signal(account, 1), signal_id: '' })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('signal_id'),
    });
    await expect(bus.subscribe(account, () => undefined, { maxOutstanding: 0 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    const stop = await bus.subscribe(account, () => undefined);
    await expect(bus.subscribe(account, () => undefined)).rejects.toMatchObject({
      code: 'ALREADY_SUBSCRIBED',
    });
    await stop();
    await bus.close();
    await expect(bus.publish(signal(account, 1))).rejects.toMatchObject({ code: 'CLOSED' });
  });
});
