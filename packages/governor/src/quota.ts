/** The start (ms, UTC) of the calendar month `ms` falls in: the monthly quota's period. */
export function monthStart(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}
