import { parseArgs } from 'node:util';

export interface E2eArgs {
  /** Tenants provisioned through runtime.provision (one topic, subscription and chain each). */
  readonly tenants: number;
  /** Noop signals of the throughput phase, round-robin over the tenants. */
  readonly signals: number;
  /** Offered rate of the latency phase, signals/s, scheduled by time (open loop). */
  readonly rate: number;
  /** How long the latency phase offers that rate. */
  readonly seconds: number;
  /**
   * How long one Firestore call may take before the adapters count the store as unavailable
   * (GcpConfig.deadlineMs; the worker's default, GOVERNOR_STORE_DEADLINE_MS, is 5,000).
   */
  readonly deadlineMs: number;
  readonly quick: boolean;
  /** Leave the run's Firestore documents, topics and bucket on the emulators. */
  readonly keep: boolean;
  readonly json: boolean;
}

export const USAGE =
  'usage: e2e.bench [--tenants 100] [--signals 10000] [--rate 500] [--seconds 10] [--deadline-ms 30000] ' +
  '[--quick] [--keep] [--json]';

/** A smoke run: every phase, small numbers. Flags given explicitly still win. */
const QUICK = { tenants: 10, signals: 1_000, rate: 100, seconds: 3 } as const;
const FULL = { tenants: 100, signals: 10_000, rate: 500, seconds: 10 } as const;

/** A bad flag: reported as one line with the usage, no stack. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

function positive(name: string, text: string | undefined, fallback: number, integer = true): number {
  if (text === undefined) return fallback;
  const n = Number(text.replace(/_/g, ''));
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isSafeInteger(n)))
    throw new UsageError(
      `--${name} must be a positive ${integer ? 'integer' : 'number'}, got "${text}"\n${USAGE}`,
    );
  return n;
}

function parse(argv: readonly string[]) {
  try {
    return parseArgs({
      args: [...argv],
      strict: true,
      options: {
        tenants: { type: 'string' },
        signals: { type: 'string' },
        rate: { type: 'string' },
        seconds: { type: 'string' },
        'deadline-ms': { type: 'string' },
        quick: { type: 'boolean', default: false },
        keep: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    });
  } catch (e) {
    throw new UsageError(`${(e as Error).message}\n${USAGE}`);
  }
}

export function parseE2eArgs(argv: readonly string[]): E2eArgs {
  const { values } = parse(argv);
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const d = values.quick ? QUICK : FULL;
  const args = {
    tenants: positive('tenants', values.tenants, d.tenants),
    signals: positive('signals', values.signals, d.signals),
    rate: positive('rate', values.rate, d.rate, false),
    seconds: positive('seconds', values.seconds, d.seconds, false),
    deadlineMs: positive('deadline-ms', values['deadline-ms'], 30_000),
    quick: values.quick,
    keep: values.keep,
    json: values.json,
  };
  if (args.signals < args.tenants)
    throw new UsageError(
      `--signals (${args.signals}) must be at least --tenants (${args.tenants})\n${USAGE}`,
    );
  return args;
}
