import { parseArgs } from 'node:util';

/** The command line of `bench:scaleout`, checked against what a run can do. */

const USAGE =
  'usage: scaleout.bench [--quick] [--tenants N] [--signals N] [--lease-ms MS] [--throughput-lease-ms MS] ' +
  '[--keep] [--json]';

const STARTER_QUOTA = 1_000;

export class UsageError extends Error {}

export interface Args {
  readonly tenants: number;
  readonly signals: number;
  /** GOVERNOR_LEASE_MS of the takeover run. */
  readonly leaseMs: number;
  /** GOVERNOR_LEASE_MS of the throughput runs; null: the worker's default. */
  readonly throughputLeaseMs: number | null;
  readonly quick: boolean;
  readonly keep: boolean;
  readonly json: boolean;
}

export function parse(argv: readonly string[]): Args {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      tenants: { type: 'string' },
      signals: { type: 'string' },
      'lease-ms': { type: 'string' },
      'throughput-lease-ms': { type: 'string' },
      quick: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const positive = (name: string, text: string | undefined, fallback: number): number => {
    if (text === undefined) return fallback;
    const v = Number(text.replace(/_/g, ''));
    if (!Number.isSafeInteger(v) || v <= 0)
      throw new UsageError(`--${name} must be a positive integer, got "${text}"\n${USAGE}`);
    return v;
  };
  const quick = values.quick;
  const args = {
    tenants: positive('tenants', values.tenants, quick ? 10 : 20),
    signals: positive('signals', values.signals, quick ? 1_000 : 4_000),
    leaseMs: positive('lease-ms', values['lease-ms'], 3_000),
    throughputLeaseMs:
      values['throughput-lease-ms'] === undefined
        ? null
        : positive('throughput-lease-ms', values['throughput-lease-ms'], 0),
    quick,
    keep: values.keep,
    json: values.json,
  };
  if (args.tenants < 2)
    throw new UsageError(`--tenants must be at least 2 (two workers share them)\n${USAGE}`);
  if (Math.min(args.leaseMs, args.throughputLeaseMs ?? 300) < 300)
    throw new UsageError(`lease periods must be at least 300 ms (the worker's minimum)`);
  // Starter tenants: 1,000 actions a month each; every signal must run.
  const perTenant = Math.ceil(args.signals / args.tenants) + 1;
  if (perTenant > STARTER_QUOTA)
    throw new UsageError(
      `${perTenant} signals per tenant exceed the starter plan's monthly quota (${STARTER_QUOTA}): raise --tenants`,
    );
  return args;
}

export const accountId = (i: number): string => `t-${String(i).padStart(4, '0')}`;
