import { signal } from '../../support/worker-fixtures';
import type { Args } from './args';
import { checkChains, checkOk, type Check } from './check';
import { publishAndWatch, sortedTimes } from './load';
import { balanced, closeRun, openRun, setUp, type Run } from './setup';
import { note, type WorkerProc } from './worker';

/** A worker killed while holding tenants: how long until the survivor serves them and their signals complete. */

export interface Takeover {
  readonly project: string;
  readonly lease_ms: number;
  readonly killed: string;
  readonly survivor: string;
  /** The tenants the killed worker held. */
  readonly tenants: number;
  readonly chosen: string;
  /** SIGKILL → the survivor's 'tenant taken over' line for the chosen tenant (its pino time). */
  readonly chosen_takeover_ms: number;
  /** SIGKILL → action_complete of the signal published to the chosen tenant right after the kill. */
  readonly chosen_signal_ms: number | null;
  readonly all_takeover_ms: number;
  readonly all_signals_ms: number | null;
  /** Each tenant's takeover, sorted. */
  readonly takeover_spread: readonly number[];
  /** Each signal published right after the kill, to its action_complete, sorted (null: never). */
  readonly signal_spread: readonly (number | null)[];
  /** Publish → action_complete of one more signal per tenant once the survivor serves them all. */
  readonly after_takeover: readonly (number | null)[];
  readonly reconciled: number;
  readonly previous_holders: readonly string[];
  readonly adopt_ms: readonly number[];
  readonly check: Check;
  readonly logProblems: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

async function takeover(run: Run, args: Args): Promise<Omit<Takeover, 'project'>> {
  const [a, b] = run.workers as [WorkerProc, WorkerProc];
  const now = Date.now();
  const leased = (await run.p.stores.leases.list())
    .filter((l) => l.holder === a.id && l.expires_at > now)
    .map((l) => l.account_id)
    .filter((t) => a.serving.has(t))
    .sort();
  if (leased.length === 0) throw new Error(`${a.id} holds no tenant to take over`);
  const chosen = leased[0] as string;
  const chosenIndex = 0;
  note(`takeover: SIGKILL ${a.id} (pid ${a.pid}, ${leased.length} tenants, lease ${args.leaseMs} ms)`);
  const mark = b.lines.length;
  const killedAt = Date.now();
  const start = performance.now();
  await a.kill();
  const signals = leased.map((t) => signal(t, `after-kill-${t}`));
  const ends = await publishAndWatch(run, leased, signals, start);
  const timeout = args.leaseMs + 30_000;
  const lines = await Promise.all(
    leased.map((t) =>
      b.waitFor(
        `'tenant taken over' for ${t}`,
        (l) => l.msg === 'tenant taken over' && l.account_id === t && b.lines.indexOf(l) >= mark,
        timeout,
      ),
    ),
  );
  const takeovers = lines.map((l) => (typeof l.time === 'number' ? l.time : Date.now()) - killedAt);
  await balanced(run, timeout);
  // One more signal each, once the survivor serves them all: whether what the first one waited
  // for was the takeover or something after it.
  note('takeover: one more signal per tenant, now that the survivor serves them all');
  const after = await publishAndWatch(
    run,
    leased,
    leased.map((t) => signal(t, `after-takeover-${t}`)),
  );
  note('takeover: verifying chains');
  const check = await checkChains(run);
  return {
    lease_ms: args.leaseMs,
    killed: a.id,
    survivor: b.id,
    tenants: leased.length,
    chosen,
    chosen_takeover_ms: takeovers[chosenIndex] as number,
    chosen_signal_ms: ends[chosenIndex] ?? null,
    all_takeover_ms: Math.max(...takeovers),
    all_signals_ms: ends.every((e) => e !== null) ? Math.max(...ends.map((e) => e ?? 0)) : null,
    takeover_spread: [...takeovers].sort((x, y) => x - y),
    signal_spread: sortedTimes(ends),
    after_takeover: sortedTimes(after),
    reconciled: lines.reduce((s, l) => s + (typeof l.reconciled === 'number' ? l.reconciled : 0), 0),
    previous_holders: [...new Set(lines.map((l) => String(l.previous_holder)))],
    adopt_ms: lines.map((l) => (typeof l.ms === 'number' ? l.ms : -1)),
    check,
    logProblems: Object.fromEntries(run.workers.map((w) => [w.id, w.problems()])),
  };
}

/**
 * The takeover on a fresh project with two workers at `--lease-ms`: tenants provisioned and
 * balanced, one warm-up signal each, then worker-a killed.
 */
export async function runTakeover(args: Args, logDir: string): Promise<Takeover> {
  const run = await openRun('takeover', args, args.leaseMs);
  let ok = false;
  try {
    await setUp(run, 2, logDir);
    note('takeover: one warm-up signal per tenant');
    const warm = await publishAndWatch(
      run,
      run.tenants,
      run.tenants.map((t) => signal(t, `warm-up-${t}`)),
    );
    const missing = run.tenants.filter((_, i) => warm[i] === null);
    if (missing.length > 0)
      throw new Error(`the warm-up signals of ${missing.join(', ')} never got their action_complete`);
    const result = { ...(await takeover(run, args)), project: run.p.projectId };
    ok = checkOk(result.check);
    return result;
  } finally {
    // A failed takeover leaves its project on the emulators to look at.
    await closeRun(run, args.keep || !ok);
  }
}
