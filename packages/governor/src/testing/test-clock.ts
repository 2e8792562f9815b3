import type { Clock } from '../ports';

/**
 * Time that moves only when the test moves it (the interface of xstate's SimulatedClock: `set`,
 * `increment`): timers due on the way run in the order they fall due (ties in the order they
 * were set), synchronously, each at its own time, and so do the timers they set.
 */
export class TestClock implements Clock {
  private time = 0;
  private lastId = 0;
  private readonly timers = new Map<number, { readonly at: number; readonly fn: () => void }>();

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): number {
    const id = ++this.lastId;
    this.timers.set(id, { at: this.time + ms, fn });
    return id;
  }

  clearTimeout(id: unknown): void {
    this.timers.delete(id as number);
  }

  /** The delays, from now, of the timers still pending. */
  pending(): number[] {
    return [...this.timers.values()].map((t) => t.at - this.time);
  }

  set(ms: number): void {
    if (ms < this.time) throw new Error('a test clock does not go back');
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of this.timers)
        if (entry[1].at <= ms && (next === undefined || entry[1].at < next[1].at)) next = entry;
      if (next === undefined) break;
      this.timers.delete(next[0]);
      this.time = Math.max(this.time, next[1].at);
      next[1].fn();
    }
    this.time = ms;
  }

  increment(ms: number): void {
    this.set(this.time + ms);
  }
}

/** Lets pending promise chains run (`rounds` event-loop turns, no real time). */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * Moves the clock on by `ms` in `step`s, letting what the timers started settle after each
 * (`rounds` event-loop turns: one is enough for code that only chains promises).
 */
export async function advance(clock: TestClock, ms: number, step = 10, rounds = 5): Promise<void> {
  for (let passed = 0; passed < ms; passed += step) {
    clock.increment(Math.min(step, ms - passed));
    await settle(rounds);
  }
}

/** Moves the clock on in `step`s until `promise` settles (giving up after `limitMs`), and returns it. */
export async function until<T>(
  clock: TestClock,
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
