import type { Clock, ControlMessage } from '@governor/governor';
import { describeControlChannelContract } from '../../index';
import { MemoryControl } from '@governor/governor/testing';

// A short redelivery delay keeps the suite's real-time waits short; quiet for several of them.
describeControlChannelContract('MemoryControl', () =>
  Promise.resolve({
    channel: new MemoryControl(undefined, 20),
    cleanup: () => Promise.resolve(),
    quietMs: 80,
  }),
);

/** Timers that fire only when the test advances time. */
class ManualClock implements Clock {
  private time = 0;
  private timers: Array<{ at: number; fn: () => void }> = [];
  now(): number {
    return this.time;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const timer = { at: this.time + ms, fn };
    this.timers.push(timer);
    return timer;
  }
  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((t) => t !== handle);
  }
  advance(ms: number): void {
    this.time += ms;
    const due = this.timers.filter((t) => t.at <= this.time);
    this.timers = this.timers.filter((t) => t.at > this.time);
    for (const t of due) t.fn();
  }
}

const policy: ControlMessage = { kind: 'policy', policy: { plan: { n: 1 } }, force: false };

describe('MemoryControl', () => {
  it('redelivers a nacked message after the redelivery delay, not before', async () => {
    const clock = new ManualClock();
    const control = new MemoryControl(clock, 500);
    const seen: number[] = [];
    let nacks = 1;
    await control.subscribe('worker-a', (_m, settle) => {
      seen.push(clock.now());
      if (nacks-- > 0) settle.nack();
      else settle.ack();
    });
    await control.publish(policy);
    clock.advance(499);
    expect(seen).toEqual([0]);
    clock.advance(1);
    expect(seen).toEqual([0, 500]);
    clock.advance(10_000);
    expect(seen).toEqual([0, 500]);
  });

  it('gives each worker its own copy', async () => {
    const control = new MemoryControl();
    const got: ControlMessage[] = [];
    await control.subscribe('worker-a', (m, settle) => {
      (m as { policy: { plan: { n: number } } }).policy.plan.n = 99;
      settle.ack();
    });
    await control.subscribe('worker-b', (m, settle) => {
      got.push(m);
      settle.ack();
    });
    await control.publish(policy);
    expect(got).toEqual([policy]);
  });

  it('refuses a second subscription of the same worker until the first stops', async () => {
    const control = new MemoryControl();
    const stop = await control.subscribe('worker-a', (_m, s) => s.ack());
    await expect(control.subscribe('worker-a', (_m, s) => s.ack())).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(/already subscribed/),
    });
    await stop();
    await stop();
    await expect(control.subscribe('worker-a', (_m, s) => s.ack())).resolves.toBeInstanceOf(Function);
  });

  it('keeps nothing for a worker that never subscribed', async () => {
    const control = new MemoryControl();
    await control.publish(policy);
    const got: ControlMessage[] = [];
    await control.subscribe('worker-late', (m, s) => {
      got.push(m);
      s.ack();
    });
    expect(got).toEqual([]);
  });
});
