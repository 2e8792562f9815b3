import { setTimeout as sleep } from 'node:timers/promises';
import { PubSub, Topic, type Message } from '@google-cloud/pubsub';
import type { ControlMessage, Delivery, Signal } from '@governor/governor';
import { describeControlChannelContract, describeSignalBusContract, TEST_EPOCH } from '@governor/testkit';
// Deep imports until the package index exports these (no other test depends on them yet).
import {
  PubSubBus,
  signalSubscriptionName,
  signalTopicName,
  PubSubControl,
  DEAD_LETTER_TOPIC,
} from '@governor/adapters-gcp';
import type { PubSubLogLine } from '@governor/adapters-gcp';
import { backends, uniqueName } from '../support/backends';

// A project per client: the emulator keeps every project's topics apart, so no test sees
// another's leftovers (the contract suites reuse fixed tenant names such as `acme`). With the
// universe domain given, the client does not probe for a GCE metadata server (a warning here).
function newClient(): PubSub {
  return new PubSub({
    projectId: uniqueName('gov'),
    apiEndpoint: backends.pubsub,
    emulatorMode: true,
    universeDomain: 'googleapis.com',
  });
}

const clients: PubSub[] = [];
function client(): PubSub {
  const pubsub = newClient();
  clients.push(pubsub);
  return pubsub;
}
afterAll(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

/** Log lines kept for assertions instead of going to stderr. */
function capture(): { lines: PubSubLogLine[]; log: (line: PubSubLogLine) => void } {
  const lines: PubSubLogLine[] = [];
  return { lines, log: (line) => lines.push(line) };
}

// Redelivery after 100 ms; quiet for five of them, so a wrongly redelivered message is seen.
describeSignalBusContract('PubSubBus on the emulator', () => {
  const pubsub = newClient();
  return Promise.resolve({
    bus: new PubSubBus({ pubsub, redeliveryDelayMs: 100, log: capture().log }),
    cleanup: () => pubsub.close(),
    timeoutMs: 10_000,
    quietMs: 500,
  });
});

describeControlChannelContract('PubSubControl on the emulator', () => {
  const pubsub = newClient();
  return Promise.resolve({
    channel: new PubSubControl({ pubsub, redeliveryDelayMs: 100, log: capture().log }),
    cleanup: () => pubsub.close(),
    timeoutMs: 10_000,
    quietMs: 500,
  });
});

async function until(what: string, done: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** A raw subscription on `topic`, created now, that acks and keeps everything it receives. */
async function probe(
  pubsub: PubSub,
  topic: string,
): Promise<{ messages: Message[]; close(): Promise<void> }> {
  const [subscription] = await pubsub.topic(topic).createSubscription(uniqueName('probe'));
  const messages: Message[] = [];
  subscription.on('message', (m: Message) => {
    messages.push(m);
    m.ack();
  });
  return { messages, close: () => subscription.close() };
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

describe('PubSubBus on the emulator', () => {
  let pubsub: PubSub;
  let bus: PubSubBus;
  let logged: ReturnType<typeof capture>;
  let account: string;
  const stops: Array<() => Promise<void>> = [];

  beforeEach(() => {
    pubsub = client();
    logged = capture();
    bus = new PubSubBus({ pubsub, redeliveryDelayMs: 100, log: logged.log });
    account = uniqueName('acct');
  });

  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
  });

  async function subscribe(
    accountId: string,
    onDelivery: (d: Delivery) => void,
    options?: { maxOutstanding?: number },
  ): Promise<void> {
    stops.push(await bus.subscribe(accountId, onDelivery, options));
  }

  it('publishes with ordering key = account_id, the signal_id attribute and the signal as JSON', async () => {
    await bus.createTopic(account);
    const raw = await probe(pubsub, signalTopicName(account));
    const sent = [signal(account, 1), { ...signal(account, 2), type: 'scale' as const, concurrency: 4 }];
    for (const s of sent) await bus.publish(s);
    await until('both messages', () => raw.messages.length >= 2);
    await raw.close();
    expect(raw.messages.map((m) => m.orderingKey)).toEqual([account, account]);
    expect(raw.messages.map((m) => m.attributes)).toEqual(sent.map((s) => ({ signal_id: s.signal_id })));
    expect(raw.messages.map((m) => JSON.parse(m.data.toString('utf8')) as unknown)).toEqual(sent);
  });

  it('creates the subscription ordered, so the emulator hands out a tenant in publish order', async () => {
    await bus.createTopic(account);
    const [metadata] = await pubsub.subscription(signalSubscriptionName(account)).getMetadata();
    expect(metadata.enableMessageOrdering).toBe(true);
    expect(metadata.ackDeadlineSeconds).toBe(10);
  });

  it('flow control: with maxOutstanding 2, never more than 2 deliveries unsettled at once', async () => {
    await bus.createTopic(account);
    for (let n = 0; n < 10; n++) await bus.publish(signal(account, n));
    const ids: string[] = [];
    let unsettled = 0;
    let most = 0;
    await subscribe(
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
    expect(most).toBe(2);
    expect(ids).toEqual(Array.from({ length: 10 }, (_, n) => `${account}-s${n}`));
  });

  it('an undecodable message goes to governor.deadletter with where it came from and why, and is acked', async () => {
    await bus.createTopic(account);
    // The bus creates the dead-letter topic lazily; made here first so a probe can listen on it.
    await pubsub.createTopic(DEAD_LETTER_TOPIC);
    const dead = await probe(pubsub, DEAD_LETTER_TOPIC);
    const tenantTopic = pubsub.topic(signalTopicName(account), { messageOrdering: true });
    const bad = [
      { data: 'not json {', reason: 'not_json' },
      { data: JSON.stringify({ ...signal(account, 1), type: 'unknown' }), reason: 'invalid_message' },
      { data: JSON.stringify(signal('someone-else', 2)), reason: 'wrong_account' },
    ];
    const ids: string[] = [];
    for (const b of bad) {
      ids.push(await tenantTopic.publishMessage({ data: Buffer.from(b.data), orderingKey: account }));
    }
    await bus.publish(signal(account, 3));

    const delivered: string[] = [];
    await subscribe(account, (d) => {
      delivered.push(d.signal.signal_id);
      d.ack();
    });
    await until('3 dead letters', () => dead.messages.length >= 3);
    await until('the good signal', () => delivered.length >= 1);
    await dead.close();
    expect(delivered).toEqual([`${account}-s3`]);
    const byId = new Map(dead.messages.map((m) => [m.attributes.message_id, m]));
    bad.forEach((b, i) => {
      const m = byId.get(ids[i]);
      expect(m?.data.toString('utf8')).toBe(b.data);
      expect(m?.attributes).toMatchObject({
        source_subscription: signalSubscriptionName(account),
        reason: b.reason,
        message_id: ids[i],
      });
      expect(m?.attributes.detail?.length).toBeGreaterThan(0);
    });
    const warnings = logged.lines.filter((l) => l.level === 'warn');
    expect(warnings.map((l) => [l.account_id, l.reason]).sort()).toEqual(
      bad.map((b) => [account, b.reason]).sort(),
    );

    // Acked: a new subscriber after a restart sees none of them again.
    for (const stop of stops.splice(0)) await stop();
    const again: string[] = [];
    await subscribe(account, (d) => {
      again.push(d.signal.signal_id);
      d.ack();
    });
    await sleep(1_000);
    expect(again).toEqual([]);
  });

  it('after a failed publish the tenant key is resumed, and the next publish of the tenant succeeds', async () => {
    const resume = jest.spyOn(Topic.prototype, 'resumePublishing');
    try {
      // No topic yet: the emulator answers NOT_FOUND for the ordered publish of key `account`.
      await expect(bus.publish(signal(account, 1))).rejects.toMatchObject({
        code: 'TOPIC_NOT_FOUND',
        retryable: false,
        cause: expect.objectContaining({ code: 5 }),
        message: expect.stringContaining(`createTopic('${account}')`),
      });
      expect(resume).toHaveBeenCalledWith(account);
    } finally {
      resume.mockRestore();
    }
    await bus.createTopic(account);
    const delivered: Signal[] = [];
    await subscribe(account, (d) => {
      delivered.push(d.signal);
      d.ack();
    });
    await bus.publish(signal(account, 2));
    await until('the signal published after the failure', () => delivered.length >= 1);
    expect(delivered).toEqual([signal(account, 2)]);
  });

  it('redelivers a nack after the default delay (~1 s), not at once', async () => {
    const slow = new PubSubBus({ pubsub, log: logged.log });
    await slow.createTopic(account);
    const at: number[] = [];
    stops.push(
      await slow.subscribe(account, (d) => {
        at.push(Date.now());
        if (at.length === 1) d.nack();
        else d.ack();
      }),
    );
    await slow.publish(signal(account, 1));
    await until('the redelivery', () => at.length >= 2);
    const delay = (at[1] as number) - (at[0] as number);
    expect(delay).toBeGreaterThanOrEqual(1_000);
    expect(delay).toBeLessThan(2_000);
  });

  it('a nack sent after later signals were acked comes back after the delay, not the ack deadline', async () => {
    // Guards the one-stream subscriber: with several streams the emulator sat on this nack ~10 s.
    await bus.createTopic(account);
    for (let n = 0; n < 3; n++) await bus.publish(signal(account, n));
    const seen: Array<{ id: string; at: number }> = [];
    let held = false;
    await subscribe(account, (d) => {
      seen.push({ id: d.signal.signal_id, at: Date.now() });
      if (d.signal.signal_id === `${account}-s0` && !held) {
        held = true;
        setTimeout(() => d.nack(), 200);
      } else {
        d.ack();
      }
    });
    await until('s0 again', () => seen.length >= 4, 5_000);
    expect(seen.slice(0, 4).map((s) => s.id)).toEqual([0, 1, 2, 0].map((n) => `${account}-s${n}`));
    expect((seen[3]?.at ?? 0) - (seen[0]?.at ?? 0)).toBeLessThan(2_000);
  });

  it('rejects what it cannot carry, with a code and what to do', async () => {
    await expect(bus.subscribe(account, () => undefined)).rejects.toMatchObject({
      code: 'SUBSCRIPTION_NOT_FOUND',
      message: expect.stringContaining(`createTopic('${account}')`),
    });
    await expect(bus.createTopic('Not_An_Account')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await bus.createTopic(account);
    await expect(bus.publish({ ...signal(account, 1), signal_id: '' })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('signal_id'),
    });
    await expect(bus.subscribe(account, () => undefined, { maxOutstanding: 0 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });
});

describe('PubSubControl on the emulator', () => {
  it('dead-letters an undecodable control message and acks it; the worker gets only valid ones', async () => {
    const pubsub = client();
    const logged = capture();
    const control = new PubSubControl({ pubsub, redeliveryDelayMs: 100, log: logged.log });
    const received: ControlMessage[] = [];
    const stop = await control.subscribe('worker-1', (m, settle) => {
      received.push(m);
      settle.ack();
    });
    try {
      await pubsub.createTopic(DEAD_LETTER_TOPIC);
      const dead = await probe(pubsub, DEAD_LETTER_TOPIC);
      await pubsub
        .topic('governor.control', { messageOrdering: true })
        .publishMessage({ data: Buffer.from('{"kind":"reboot"}'), orderingKey: 'control' });
      const valid: ControlMessage = { kind: 'policy', policy: { v: 1 }, force: false };
      await control.publish(valid);
      await until('the dead letter', () => dead.messages.length >= 1);
      await until('the valid message', () => received.length >= 1);
      await dead.close();
      expect(received).toEqual([valid]);
      expect(dead.messages[0]?.attributes).toMatchObject({
        source_subscription: 'governor.control.worker-1',
        reason: 'invalid_message',
      });
      expect(logged.lines).toEqual([
        expect.objectContaining({ level: 'warn', worker_id: 'worker-1', reason: 'invalid_message' }),
      ]);
    } finally {
      await stop();
    }
  });
});
