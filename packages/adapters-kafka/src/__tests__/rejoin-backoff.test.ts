import { DEFAULT_REJOIN_BACKOFF, RejoinSchedule, rejoinDelayMs } from '../rejoin-backoff';
import { TestClock } from '@governor/governor/testing';

describe('rejoinDelayMs', () => {
  it.each([
    [1, 1_000],
    [2, 2_000],
    [3, 4_000],
    [4, 8_000],
    [5, 10_000],
    [6, 10_000],
    [1_000, 10_000],
  ])('with the defaults, attempt %i waits %i ms', (attempt, ms) => {
    expect(rejoinDelayMs(attempt)).toBe(ms);
  });

  it.each([
    [{ firstMs: 50, maxMs: 300 }, 1, 50],
    [{ firstMs: 50, maxMs: 300 }, 3, 200],
    [{ firstMs: 50, maxMs: 300 }, 4, 300],
    [{ firstMs: 500, maxMs: 500 }, 2, 500],
  ])('with %o, attempt %i waits %i ms', (options, attempt, ms) => {
    expect(rejoinDelayMs(attempt, options)).toBe(ms);
  });

  it.each([0, -3, 0.5])('an attempt number below 1 (%d) counts as the first', (attempt) => {
    expect(rejoinDelayMs(attempt)).toBe(DEFAULT_REJOIN_BACKOFF.firstMs);
  });
});

describe('RejoinSchedule', () => {
  it('runs the rejoin once the delay has passed on the clock, not before', () => {
    const clock = new TestClock();
    const schedule = new RejoinSchedule(clock);
    let rejoins = 0;
    schedule.schedule(() => (rejoins += 1));
    clock.increment(999);
    expect(rejoins).toBe(0);
    clock.increment(1);
    expect(rejoins).toBe(1);
  });

  it('each further attempt waits twice as long, up to the cap; a join starts over', () => {
    const clock = new TestClock();
    const schedule = new RejoinSchedule(clock);
    const waits: number[] = [];
    for (let i = 0; i < 6; i++) {
      expect(schedule.nextDelayMs).toBe(rejoinDelayMs(i + 1));
      schedule.schedule(() => undefined);
      waits.push(...clock.pending());
      clock.increment(clock.pending()[0] ?? 0);
    }
    expect(waits).toEqual([1_000, 2_000, 4_000, 8_000, 10_000, 10_000]);
    schedule.reset();
    expect(schedule.nextDelayMs).toBe(1_000);
  });

  it('a rejoin already pending is not scheduled twice, nor counted as an attempt', () => {
    const clock = new TestClock();
    const schedule = new RejoinSchedule(clock);
    let rejoins = 0;
    schedule.schedule(() => (rejoins += 1));
    schedule.schedule(() => (rejoins += 10));
    expect(clock.pending()).toEqual([1_000]);
    expect(schedule.nextDelayMs).toBe(2_000);
    clock.increment(10_000);
    expect(rejoins).toBe(1);
  });

  it('cancel drops the pending rejoin, and a later one can be scheduled', () => {
    const clock = new TestClock();
    const schedule = new RejoinSchedule(clock);
    let rejoins = 0;
    schedule.schedule(() => (rejoins += 1));
    schedule.cancel();
    expect(clock.pending()).toEqual([]);
    clock.increment(10_000);
    expect(rejoins).toBe(0);
    schedule.schedule(() => (rejoins += 1));
    clock.increment(2_000);
    expect(rejoins).toBe(1);
  });
});
