import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Delivery, Signal } from '@governor/governor';
import { describeSignalBusContract } from '@governor/testkit';
import { FileBus } from '../file-bus';

// A short redelivery delay, so the suite's real-time waits stay short; quiet for several of them.
describeSignalBusContract('FileBus', async () => {
  const root = await mkdtemp(join(tmpdir(), 'file-bus-'));
  const bus = new FileBus(root, undefined, 20);
  return {
    bus,
    quietMs: 80,
    cleanup: async () => {
      await bus.close();
      await rm(root, { recursive: true, force: true });
    },
  };
});

async function waitUntil(
  done: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function signal(n: number): Signal {
  return {
    signal_id: `s${n}`,
    account_id: 'acme',
    type: 'action',
    action_kind: 'noop',
    params: { n },
    published_at: 1_795_000_000_000 + n,
  };
}

describe('FileBus: what a publish that resolved leaves on disk', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'file-bus-'));
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  /** Subscribes, and settles each delivery with `settle`; resolves the ids received so far. */
  async function subscribe(bus: FileBus, settle: (d: Delivery) => void = (d) => d.ack()) {
    const received: string[] = [];
    const stop = await bus.subscribe('acme', (d) => {
      received.push(d.signal.signal_id);
      settle(d);
    });
    return { received, stop };
  }

  it('a process that ends (a crash) with signals published and not acked: the next one delivers exactly those, in order, and none that were acked', async () => {
    const first = new FileBus(root);
    await first.createTopic('acme');
    // Published before anyone subscribed (the worker resuming), and concurrently (one fsync).
    await Promise.all([1, 2, 3, 4, 5].map((n) => first.publish(signal(n))));
    const { received } = await subscribe(first, (d) => {
      if (['s1', 's3'].includes(d.signal.signal_id)) d.ack();
    });
    await waitUntil(() => received.length === 5, 2_000, 'five deliveries');
    // Acks are written without waiting; give them their turn before the "crash".
    await waitUntil(
      async () => (await readFile(join(root, 'acme.acked'), 'utf8')).split('\n').length === 3,
      2_000,
      'two acks on disk',
    );

    // The next process: nothing but the files.
    const second = new FileBus(root);
    expect(await second.topicExists('acme')).toBe(true);
    const again = await subscribe(second);
    await waitUntil(() => again.received.length === 3, 2_000, 'three redeliveries');
    expect(again.received).toEqual(['s2', 's4', 's5']);
    // A new publish comes after what was left.
    await second.publish(signal(6));
    await waitUntil(() => again.received.length === 4, 2_000, 'the new one');
    expect(again.received).toEqual(['s2', 's4', 's5', 's6']);
    await again.stop();
    await second.close();
    await first.close();
  });

  it('a line cut by a crash mid-write (never answered) is dropped, and the log stays readable after more publishes', async () => {
    const first = new FileBus(root);
    await first.createTopic('acme');
    await first.publish(signal(1));
    await first.close();
    await appendFile(join(root, 'acme.log'), '{"signal_id":"s2","acc');

    const second = new FileBus(root);
    await second.publish(signal(3));
    await second.close();
    const third = new FileBus(root);
    const { received } = await subscribe(third);
    await waitUntil(() => received.length === 2, 2_000, 'two deliveries');
    expect(received).toEqual(['s1', 's3']);
    await third.close();
  });

  it('publishing to a topic that exists neither in this process nor on disk is refused', async () => {
    const bus = new FileBus(root);
    await expect(bus.publish(signal(1))).rejects.toThrow('does not exist');
    await bus.createTopic('acme');
    await bus.deleteTopic('acme');
    await expect(new FileBus(root).topicExists('acme')).resolves.toBe(false);
    await bus.close();
  });
});
