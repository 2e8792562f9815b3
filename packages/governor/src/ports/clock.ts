/** Time, injected so machines and monitors run on simulated time in tests. Compatible with XState's clock. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}
