import { COMMIT_RETRY_MS, CommitLoop, type TopicOffset } from '../commit-loop';
import { OffsetTracker } from '../offset-tracker';
import type { KafkaLogLine } from '../options';
import { TestClock, settle } from '@governor/governor/testing';

const TOPIC = 'tenants.acme.signals';

/** A commit loop over partition 0, whose broker commits as `answer` says (and confirms each). */
function loop(answer: (offsets: TopicOffset[]) => Promise<void> = () => Promise.resolve()) {
  const clock = new TestClock();
  const tracker = new OffsetTracker();
  const commits: string[] = [];
  const lines: KafkaLogLine[] = [];
  let stopped = false;
  const commitLoop: CommitLoop = new CommitLoop({
    topic: TOPIC,
    trackers: new Map([[0, tracker]]),
    commit: async (offsets) => {
      commits.push(offsets.map((o) => `${o.partition}@${o.offset}`).join(','));
      await answer(offsets);
      for (const o of offsets) commitLoop.confirmed(o.partition, Number(o.offset));
    },
    stopped: () => stopped,
    clock,
    log: (line) => lines.push(line),
    fields: { topic: TOPIC },
  });
  /** Delivers and acks `offset`. */
  const ack = (offset: number) => {
    tracker.onFetched(offset);
    tracker.delivered(offset);
    tracker.ack(offset);
  };
  return { clock, tracker, commits, lines, commitLoop, ack, stop: () => (stopped = true) };
}

describe('CommitLoop', () => {
  it('commits the settled prefix, and nothing again once the broker confirmed it', async () => {
    const { commits, commitLoop, ack } = loop();
    ack(0);
    ack(1);
    commitLoop.soon();
    await settle();
    commitLoop.soon();
    await settle();
    expect(commits).toEqual(['0@2']);
  });

  it('stops at the lowest unsettled offset', async () => {
    const { tracker, commits, commitLoop, ack } = loop();
    ack(0);
    tracker.onFetched(1);
    tracker.delivered(1);
    ack(2);
    commitLoop.soon();
    await settle();
    expect(commits).toEqual(['0@1']);
  });

  it('requests while a commit runs are coalesced into one more round', async () => {
    let release: () => void = () => undefined;
    const { commits, commitLoop, ack } = loop(() => new Promise<void>((r) => (release = r)));
    ack(0);
    commitLoop.soon();
    ack(1);
    commitLoop.soon();
    ack(2);
    commitLoop.soon();
    await settle();
    expect(commits).toEqual(['0@1']);
    release();
    await settle();
    release();
    await settle();
    expect(commits).toEqual(['0@1', '0@3']);
  });

  it(`a failed commit is logged and tried again after ${COMMIT_RETRY_MS} ms on the clock`, async () => {
    let fail = true;
    const { clock, commits, lines, commitLoop, ack } = loop(() =>
      fail ? Promise.reject(new Error('coordinator moved')) : Promise.resolve(),
    );
    ack(0);
    commitLoop.soon();
    await settle();
    expect(lines).toEqual([
      expect.objectContaining({
        level: 'warn',
        err: 'Error: coordinator moved',
        offsets: [expect.anything()],
      }),
    ]);
    expect(clock.pending()).toEqual([COMMIT_RETRY_MS]);
    fail = false;
    clock.increment(COMMIT_RETRY_MS - 1);
    await settle();
    expect(commits).toEqual(['0@1']);
    clock.increment(1);
    await settle();
    expect(commits).toEqual(['0@1', '0@1']);
    expect(clock.pending()).toEqual([]);
  });

  it('a stopped consumer does not retry; cancelRetry drops a retry already pending', async () => {
    const failing = () => Promise.reject(new Error('down'));
    const stopped = loop(failing);
    stopped.ack(0);
    stopped.stop();
    stopped.commitLoop.soon();
    await settle();
    expect(stopped.clock.pending()).toEqual([]);

    const pending = loop(failing);
    pending.ack(0);
    pending.commitLoop.soon();
    await settle();
    pending.commitLoop.cancelRetry();
    expect(pending.clock.pending()).toEqual([]);
  });

  it('flush waits for the running commit, then commits what was settled meanwhile', async () => {
    let release: () => void = () => undefined;
    const { commits, commitLoop, ack } = loop(() => new Promise<void>((r) => (release = r)));
    ack(0);
    commitLoop.soon();
    await settle();
    ack(1);
    const flushed = commitLoop.flush();
    release();
    await settle();
    release();
    await flushed;
    expect(commits).toEqual(['0@1', '0@2']);
  });

  it('forgetting a revoked partition forgets what the broker confirmed for it', async () => {
    const { commits, commitLoop, ack } = loop();
    ack(0);
    commitLoop.soon();
    await settle();
    commitLoop.forget(0);
    commitLoop.soon();
    await settle();
    expect(commits).toEqual(['0@1', '0@1']);
  });
});
