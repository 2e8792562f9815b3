import type { BenchArgs } from './args';
import type { Measurements } from './measure';
import { figure, skipped, type Figure, type Quantity } from './report';
import { accepted } from './verify';

const TARGETS = {
  emit: { op: '>=', value: 0.6, unit: '×', onRatio: true },
  full: { op: '>=', value: 0.9, unit: '×', onRatio: true },
  checkpoint: { op: '>=', value: 7, unit: '×', onRatio: true },
  memory: { op: '<', value: 300, unit: 'MB', onRatio: false },
} as const;

const threadsText = (n: number): string => `${n} thread${n === 1 ? '' : 's'}`;

const perSecond = (label: string, value: number, unit = 'receipts/s'): Quantity => ({ label, value, unit });

function memoryFigure(m: Measurements['memory'], args: BenchArgs): Figure {
  if (m === null) return skipped('peak RSS, full verify of 1M', TARGETS.memory, 'not run (pass --million)');
  const v = m.verify;
  return figure(
    `peak RSS, full verify of ${v.count.toLocaleString('en-US')}`,
    { label: 'peak RSS', value: Math.max(v.max_rss_mb, v.peak_rss_mb), unit: 'MB' },
    null,
    TARGETS.memory,
    accepted(args.millionCount, [{ ...v, checkpointsVerified: v.checkpoints_verified }]),
  );
}

/** The four reported figures, each against its same-run baseline and target. */
export function figuresOf(m: Measurements, args: BenchArgs): Figure[] {
  return [
    figure(
      'emit (appendReceipt)',
      perSecond('emit', m.emit.rate),
      perSecond('raw sign, 1 thread', m.rawSign.rate, 'signs/s'),
      TARGETS.emit,
    ),
    figure(
      `full verify, ${threadsText(args.threads)}`,
      perSecond('full', m.full.rate),
      perSecond(`raw verify, ${threadsText(args.threads)}`, m.rawVerify.rate, 'verifies/s'),
      TARGETS.full,
      accepted(args.count, [m.full]),
    ),
    figure(
      'checkpoint-only verify',
      perSecond('checkpoint', m.checkpoint.rate),
      perSecond('full verify', m.full.rate),
      TARGETS.checkpoint,
      accepted(args.count, m.checkpoint.runs),
    ),
    memoryFigure(m.memory, args),
  ];
}
