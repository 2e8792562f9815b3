/** Progress on stderr, one line per tenth of the work, so stdout stays clean for the table or JSON. */
export function progress(label: string, total: number): (done: number) => void {
  const step = Math.max(1, Math.ceil(total / 10));
  let next = step;
  return (done) => {
    if (done < Math.min(next, total) || next === Infinity) return;
    next = done >= total ? Infinity : (Math.floor(done / step) + 1) * step;
    process.stderr.write(`[bench] ${label}: ${done}/${total} (${Math.round((100 * done) / total)}%)\n`);
  };
}

export function note(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

/** Milliseconds since `start` (a performance.now() reading). */
export function since(start: number): number {
  return performance.now() - start;
}

/** CPU time of the whole process (every thread) so far, in milliseconds. */
export function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Items per second. */
export function rate(items: number, ms: number): number {
  return ms > 0 ? (items * 1000) / ms : 0;
}
