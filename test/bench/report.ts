import { alignedTable } from './support/table';

export type Status = 'PASS' | 'MISS' | 'SKIP';

export interface Quantity {
  readonly label: string;
  readonly value: number;
  readonly unit: string;
}

/** What a figure must meet: on the ratio to its baseline (unit `×`), or on the measurement itself. */
export interface Target {
  readonly op: '>=' | '<=' | '<';
  readonly value: number;
  readonly unit: string;
  /** True when the target applies to measured / baseline; false when to the measurement itself. */
  readonly onRatio: boolean;
}

/** One reported figure: a measurement, the raw baseline of the same run, their ratio, and the target. */
export interface Figure {
  readonly name: string;
  readonly measured: Quantity | null;
  readonly baseline: Quantity | null;
  /** measured / baseline; null without a baseline. */
  readonly ratio: number | null;
  readonly target: Target;
  readonly status: Status;
  readonly note: string | null;
}

function meets(op: Target['op'], value: number, limit: number): boolean {
  if (op === '>=') return value >= limit;
  if (op === '<=') return value <= limit;
  return value < limit;
}

/** Builds a figure; `valid.ok` false (the run did not do what it should) makes it a MISS whatever the number. */
export function figure(
  name: string,
  measured: Quantity,
  baseline: Quantity | null,
  target: Target,
  valid: { readonly ok: boolean; readonly why: string } = { ok: true, why: '' },
): Figure {
  const ratio = baseline === null || baseline.value <= 0 ? null : measured.value / baseline.value;
  const judged = target.onRatio ? ratio : measured.value;
  const pass = judged !== null && Number.isFinite(judged) && meets(target.op, judged, target.value);
  return {
    name,
    measured,
    baseline,
    ratio,
    target,
    status: pass && valid.ok ? 'PASS' : 'MISS',
    note: valid.ok ? null : valid.why,
  };
}

export function skipped(name: string, target: Target, why: string): Figure {
  return { name, measured: null, baseline: null, ratio: null, target, status: 'SKIP', note: why };
}

/** Three significant digits at most, thousands separated: 0.0123, 1.23, 12.3, 1,234. */
export function num(n: number): string {
  const abs = Math.abs(n);
  if (abs >= 100 || n === 0) return Math.round(n).toLocaleString('en-US');
  if (abs >= 10) return n.toFixed(1);
  if (abs >= 1) return n.toFixed(2);
  return n.toPrecision(3);
}

function quantity(q: Quantity | null): string {
  return q === null ? '-' : `${num(q.value)} ${q.unit}`;
}

function ratio(f: Figure): string {
  if (f.ratio === null) return '-';
  return f.ratio >= 100 ? `${Math.round(f.ratio).toLocaleString('en-US')}×` : `${num(f.ratio)}×`;
}

function target(t: Target): string {
  const op = t.op === '>=' ? '≥' : t.op === '<=' ? '≤' : '<';
  return t.unit === '×' ? `${op} ${t.value}×` : `${op} ${t.value} ${t.unit}`;
}

const HEADER = ['figure', 'measured', 'raw baseline (same run)', 'ratio', 'target', 'result'];

/** The figures as an aligned text table, notes under it. */
export function renderTable(figures: readonly Figure[]): string {
  const rows = figures.map((f) => [
    f.name,
    quantity(f.measured),
    f.baseline === null ? '-' : `${f.baseline.label}: ${quantity(f.baseline)}`,
    ratio(f),
    target(f.target),
    f.status,
  ]);
  const notes = figures.filter((f) => f.note !== null).map((f) => `  ${f.name}: ${f.note ?? ''}`);
  return [alignedTable(HEADER, rows), ...notes].join('\n');
}
