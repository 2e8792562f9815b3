export type Status = 'PASS' | 'MISS' | 'SKIP';

export interface Quantity {
  readonly label: string;
  readonly value: number;
  readonly unit: string;
}

export interface Target {
  readonly op: '>=' | '<';
  readonly value: number;
  readonly unit: string;
}

/** One reported figure: a measurement, the raw baseline it is judged against, and its target. */
export interface Figure {
  readonly name: string;
  readonly measured: Quantity | null;
  readonly baseline: Quantity | null;
  /** What the target applies to: measured / baseline, or the measurement itself without a baseline. */
  readonly score: number | null;
  readonly target: Target;
  readonly status: Status;
  /** Why a figure is SKIP, or MISS for a reason other than its number (the verification failed). */
  readonly note: string | null;
}

/** Builds a figure; `valid` false (wrong verification result) makes it a MISS whatever the number. */
export function figure(
  name: string,
  measured: Quantity,
  baseline: Quantity | null,
  target: Target,
  valid: { readonly ok: boolean; readonly why: string } = { ok: true, why: '' },
): Figure {
  const score = baseline === null ? measured.value : measured.value / baseline.value;
  const meets = target.op === '>=' ? score >= target.value : score < target.value;
  return {
    name,
    measured,
    baseline,
    score,
    target,
    status: meets && valid.ok ? 'PASS' : 'MISS',
    note: valid.ok ? null : valid.why,
  };
}

export function skipped(name: string, target: Target, why: string): Figure {
  return { name, measured: null, baseline: null, score: null, target, status: 'SKIP', note: why };
}

const int = (n: number): string => Math.round(n).toLocaleString('en-US');

function quantity(q: Quantity | null): string {
  return q === null ? '-' : `${int(q.value)} ${q.unit}`;
}

function score(f: Figure): string {
  if (f.score === null) return '-';
  return f.baseline === null ? `${int(f.score)} ${f.target.unit}` : `${f.score.toFixed(2)}${f.target.unit}`;
}

function target(t: Target): string {
  return `${t.op === '>=' ? '≥' : '<'} ${t.value}${t.unit === '×' ? '' : ' '}${t.unit}`;
}

const HEADER = ['figure', 'measured', 'baseline (same run)', 'score', 'target', 'result'];

/** The figures as an aligned text table, notes under it. */
export function renderTable(figures: readonly Figure[]): string {
  const rows = figures.map((f) => [
    f.name,
    quantity(f.measured),
    f.baseline === null ? '-' : `${f.baseline.label}: ${quantity(f.baseline)}`,
    score(f),
    target(f.target),
    f.status,
  ]);
  const widths = HEADER.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: readonly string[]): string =>
    r
      .map((cell, c) => cell.padEnd(widths[c] ?? 0))
      .join('  ')
      .trimEnd();
  const notes = figures.filter((f) => f.note !== null).map((f) => `  ${f.name}: ${f.note ?? ''}`);
  return [line(HEADER), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line), ...notes].join('\n');
}
