import { parseArgs } from 'node:util';

export const PARTS = ['memory', 'broadcast', 'throughput'] as const;
export type Part = (typeof PARTS)[number];

export interface RuntimeBenchArgs {
  /** Governor counts of the memory figure, one child process each. */
  readonly memorySizes: readonly number[];
  /** Governors the policy is broadcast to. */
  readonly broadcast: number;
  /** Pushes measured (1.1.0, 1.2.0, ...); the broadcast figures are their medians. */
  readonly broadcastRepeat: number;
  /** Tenants and noop signals of the end-to-end throughput figure. */
  readonly tenants: number;
  readonly signals: number;
  /** Batch size of the raw FileLedger.append baseline. */
  readonly rawBatch: number;
  /** Parent directory of the temporary FileLedger roots (default: the OS temp directory). */
  readonly dir: string | null;
  readonly keep: boolean;
  readonly only: readonly Part[];
  readonly json: boolean;
}

export const USAGE =
  'usage: runtime.bench [--memory-sizes 10000,100000] [--broadcast 10000] [--broadcast-repeat 3] ' +
  '[--tenants 100] [--signals 20000] [--raw-batch 100] [--only memory,broadcast,throughput] ' +
  '[--dir DIR] [--keep] [--json]';

function positiveInt(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text.replace(/_/g, ''));
  if (!Number.isSafeInteger(n) || n <= 0)
    throw new Error(`--${name} must be a positive integer, got "${text}"\n${USAGE}`);
  return n;
}

function list(text: string | undefined): string[] | undefined {
  return text
    ?.split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

export function parseRuntimeBenchArgs(argv: readonly string[]): RuntimeBenchArgs {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      'memory-sizes': { type: 'string' },
      broadcast: { type: 'string' },
      'broadcast-repeat': { type: 'string' },
      tenants: { type: 'string' },
      signals: { type: 'string' },
      'raw-batch': { type: 'string' },
      only: { type: 'string' },
      dir: { type: 'string' },
      keep: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const only = list(values.only) ?? [...PARTS];
  for (const part of only)
    if (!(PARTS as readonly string[]).includes(part))
      throw new Error(`--only takes ${PARTS.join(', ')}; got "${part}"\n${USAGE}`);
  return {
    memorySizes: (list(values['memory-sizes']) ?? ['10000', '100000']).map((s) =>
      positiveInt('memory-sizes', s, 0),
    ),
    broadcast: positiveInt('broadcast', values.broadcast, 10_000),
    broadcastRepeat: positiveInt('broadcast-repeat', values['broadcast-repeat'], 3),
    tenants: positiveInt('tenants', values.tenants, 100),
    signals: positiveInt('signals', values.signals, 20_000),
    rawBatch: positiveInt('raw-batch', values['raw-batch'], 100),
    dir: values.dir ?? null,
    keep: values.keep,
    only: only as Part[],
    json: values.json,
  };
}
