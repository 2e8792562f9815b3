import type { Clock } from '@governor/governor';

/**
 * Time that moves only when the test moves it, with the interface of xstate's SimulatedClock
 * (`set`, `increment`): due timeouts run in order, synchronously, as time passes them.
 */
export class SimulatedClock implements Clock {
  private time = 0;
  private lastId = 0;
  private readonly timeouts = new Map<number, { at: number; fn: () => void }>();

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): number {
    const id = ++this.lastId;
    this.timeouts.set(id, { at: this.time + ms, fn });
    return id;
  }

  clearTimeout(id: unknown): void {
    this.timeouts.delete(id as number);
  }

  set(ms: number): void {
    if (ms < this.time) throw new Error('a simulated clock does not go back');
    this.time = ms;
    this.flush();
  }

  increment(ms: number): void {
    this.set(this.time + ms);
  }

  private flush(): void {
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of this.timeouts)
        if (entry[1].at <= this.time && (next === undefined || entry[1].at < next[1].at)) next = entry;
      if (next === undefined) return;
      this.timeouts.delete(next[0]);
      next[1].fn();
    }
  }
}

/** Lets pending promise chains run (a few event-loop turns, no real time). */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * Moves the clock on by `ms` in `step`s, letting what the timers started settle after each
 * (`rounds` event-loop turns: one is enough for code that only chains promises).
 */
export async function advance(clock: SimulatedClock, ms: number, step = 10, rounds = 5): Promise<void> {
  for (let passed = 0; passed < ms; passed += step) {
    clock.increment(Math.min(step, ms - passed));
    await settle(rounds);
  }
}

/** Moves the clock on in `step`s until `promise` settles (giving up after `limitMs`), and returns it. */
export async function until<T>(
  clock: SimulatedClock,
  promise: Promise<T>,
  step = 10,
  limitMs = 60_000,
): Promise<T> {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  await settle();
  for (let passed = 0; !settled && passed < limitMs; passed += step) {
    clock.increment(step);
    await settle();
  }
  return promise;
}
