import { Redelivery } from '../redelivery';
import { TestClock } from '@governor/governor/testing';

function redelivery(delayMs = 1_000) {
  const clock = new TestClock();
  const due: string[] = [];
  const r = new Redelivery(clock, delayMs, (partition, offset) => due.push(`${partition}:${offset}`));
  return { clock, due, r };
}

describe('Redelivery', () => {
  it('a nacked offset is due once the delay has passed on the clock, not before', () => {
    const { clock, due, r } = redelivery(1_000);
    r.later(0, 7);
    clock.increment(999);
    expect(due).toEqual([]);
    clock.increment(1);
    expect(due).toEqual(['0:7']);
    expect(r.size).toBe(0);
  });

  it('offsets nacked at different times fall due in their own time', () => {
    const { clock, due, r } = redelivery(500);
    r.later(0, 3);
    clock.increment(200);
    r.later(0, 1);
    clock.increment(300);
    expect(due).toEqual(['0:3']);
    clock.increment(200);
    expect(due).toEqual(['0:3', '0:1']);
  });

  it('a zero delay is due at the next turn of the clock', () => {
    const { clock, due, r } = redelivery(0);
    r.later(1, 2);
    expect(due).toEqual([]);
    clock.increment(0);
    expect(due).toEqual(['1:2']);
  });

  it('an offset fetched again before its delay passes is not due', () => {
    const { clock, due, r } = redelivery();
    r.later(0, 4);
    r.later(0, 5);
    r.cancel(0, 4);
    clock.increment(1_000);
    expect(due).toEqual(['0:5']);
  });

  it('nacking the same offset again keeps one timer, from the last nack', () => {
    const { clock, due, r } = redelivery();
    r.later(0, 4);
    clock.increment(600);
    r.later(0, 4);
    expect(r.size).toBe(1);
    clock.increment(600);
    expect(due).toEqual([]);
    clock.increment(400);
    expect(due).toEqual(['0:4']);
  });

  it("a revoked partition's timers are dropped, the others' kept", () => {
    const { clock, due, r } = redelivery();
    r.later(1, 4);
    r.later(11, 4);
    r.later(1, 9);
    r.forgetPartition(1);
    expect(clock.pending()).toEqual([1_000]);
    clock.increment(1_000);
    expect(due).toEqual(['11:4']);
  });

  it('clear drops every timer', () => {
    const { clock, due, r } = redelivery();
    r.later(0, 1);
    r.later(2, 3);
    r.clear();
    expect(clock.pending()).toEqual([]);
    clock.increment(5_000);
    expect(due).toEqual([]);
  });
});
