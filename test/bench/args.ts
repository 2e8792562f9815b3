import { parseArgs } from 'node:util';

export interface BenchArgs {
  /** Receipts in the emit / verify measurements. */
  readonly count: number;
  /** Worker threads for the full verify and its raw baseline. */
  readonly threads: number;
  readonly json: boolean;
  /** Run the (slow) memory figure: a full verify of a large chain in a child process. */
  readonly million: boolean;
  /** Receipts in the memory figure's chain. */
  readonly millionCount: number;
  /** Keep the memory figure's temporary JSONL file instead of deleting it. */
  readonly keep: boolean;
}

const USAGE =
  'usage: receipts.bench [--count N] [--threads N] [--json] [--million] [--million-count N] [--keep]';

function positiveInt(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n <= 0)
    throw new Error(`--${name} must be a positive integer, got "${text}"\n${USAGE}`);
  return n;
}

export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      count: { type: 'string' },
      threads: { type: 'string' },
      json: { type: 'boolean', default: false },
      million: { type: 'boolean', default: false },
      'million-count': { type: 'string' },
      keep: { type: 'boolean', default: false },
    },
  });
  return {
    count: positiveInt('count', values.count, 100_000),
    threads: positiveInt('threads', values.threads, 2),
    json: values.json,
    million: values.million || values['million-count'] !== undefined,
    millionCount: positiveInt('million-count', values['million-count'], 1_000_000),
    keep: values.keep,
  };
}
