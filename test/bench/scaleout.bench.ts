import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, cpus as cpuInfo, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { backends } from '../support/backends';
import { BackendsDown, n, requireBackends, runId } from './e2e-support';
import { parse, UsageError } from './scaleout/args';
import { checkOk } from './scaleout/check';
import { coreCount, CpuMeter, emulatorPids } from './scaleout/cpu';
import { runThroughput } from './scaleout/load';
import { allChecks, figuresOf, writeReport, type Measurements } from './scaleout/report';
import { runTakeover, type Takeover } from './scaleout/takeover';
import { EMULATORS } from './scaleout/verdict';
import { killAll, note, WORKER_MAIN, type WorkerProc } from './scaleout/worker';

/**
 * `pnpm bench:scaleout [--quick] [--tenants 20] [--signals 4000] [--lease-ms 3000] [--throughput-lease-ms MS]
 *   [--keep] [--json]`
 *
 * Tenant ownership across worker processes on the local emulators (Pub/Sub, Firestore,
 * fake-gcs-server), each worker the built `node services/worker/dist/main.js` in a child process:
 *   1. one worker, a fresh project: N starter tenants provisioned over governor.control, then M
 *      noop signals published through Pub/Sub round-robin (at most PUBLISH_WINDOW publishes in
 *      flight), timed from the first publish to the last action_complete durable in Firestore
 *      (chain heads polled) → signals/s. Run before and after (2); the faster is the baseline;
 *   2. two workers, a fresh project (worker-a provisions, then worker-b joins), the same load once
 *      their leases are balanced (N/2 each) → signals/s, and the ratio to (1). Throughput runs
 *      use the worker's default lease period unless --throughput-lease-ms says otherwise;
 *   3. takeover, a fresh project: two workers at --lease-ms (3 s), the tenants balanced, one
 *      warm-up signal each; SIGKILL worker-a; the time until worker-b logs 'tenant taken over' for
 *      each of a's tenants, and until a signal published to each right after the kill has its
 *      action_complete; then one more signal each, publish → action_complete.
 * CPU of the workers, this process, the emulators (their process trees, pids from
 * `infra/local/backends.sh status`) and the whole machine is read from /proc over each
 * throughput run, to say which component was saturated. After each phase every chain is read
 * back and verified (verifyLines with the workers' keyring): forks (chains that do not verify),
 * lost signals (no action_complete) and duplicate receipts (more than one) must all be 0.
 * The table (or with --json, one JSON object) goes to stdout, progress to stderr. Exits 1 when a
 * run did not do what it should (lost, duplicated, forked, a phase that failed); a MISS against a
 * performance target is reported, not an error.
 *
 * By role, in `scaleout/`: args (the command line), setup (a project per run, its workers started
 * and balanced, torn down), load (the publisher and what it measures), completion (watching the
 * chains), takeover, worker (the worker process), cpu (/proc accounting), check (the chains read
 * back), verdict (the bottleneck), report (figures, tables, footnotes).
 */

async function main(): Promise<void> {
  const args = parse(process.argv.slice(2));
  if (!existsSync(WORKER_MAIN))
    throw new Error(`${WORKER_MAIN} is missing: run tsc -b services/worker first`);
  const started = performance.now();
  const addresses = { pubsub: backends.pubsub, firestore: backends.firestore, gcs: backends.gcs };
  await requireBackends(addresses);
  process.env.METADATA_SERVER_DETECTION ??= 'none';
  const emulators = emulatorPids(EMULATORS);
  const cpus = coreCount();
  const load0 = loadavg()[0] ?? 0;
  const logDir = await mkdtemp(join(tmpdir(), `governor-bench-scaleout-${runId()}-`));
  note(
    `worker logs in ${logDir}; emulator pids ${JSON.stringify(emulators)}; ${args.tenants} tenants, ` +
      `${n(args.signals)} signals, takeover lease ${args.leaseMs} ms`,
  );
  const meterFor = (workers: () => readonly WorkerProc[]) => new CpuMeter(emulators, workers);
  let failed = false;
  let m: Measurements;
  try {
    const oneBefore = await runThroughput('one-before', 1, args, logDir, meterFor);
    const two = await runThroughput('two', 2, args, logDir, meterFor);
    const oneAfter = await runThroughput('one-after', 1, args, logDir, meterFor);
    let t: Takeover | null = null;
    let takeoverError: string | null = null;
    try {
      t = await runTakeover(args, logDir);
    } catch (e) {
      takeoverError = e instanceof Error ? e.message : String(e);
      note(`takeover failed: ${takeoverError}`);
    }
    m = { one: [oneBefore, oneAfter], two, takeover: t, takeoverError };
  } catch (e) {
    failed = true;
    throw e;
  } finally {
    if (failed) note(`failed; worker logs kept in ${logDir}`);
  }
  const figures = figuresOf(m, args, cpus);
  const context = {
    node: process.version,
    cpus,
    available_parallelism: availableParallelism(),
    cpu_model: cpuInfo()[0]?.model ?? 'unknown',
    load: [load0, loadavg()[0] ?? 0].map((x) => Math.round(x * 100) / 100),
    duration_s: Math.round((performance.now() - started) / 100) / 10,
  };
  const invalid =
    ![...m.one, m.two].every((r) => r.completed) ||
    m.takeover === null ||
    m.takeover.all_signals_ms === null ||
    !allChecks(m).every(checkOk);
  if (invalid || args.keep) note(`worker logs kept in ${logDir}`);
  else await rm(logDir, { recursive: true, force: true });
  note(`done in ${context.duration_s} s`);
  writeReport(m, figures, args, cpus, context, !invalid);
  if (invalid) process.exitCode = 1;
}

main().catch((e: unknown) => {
  if (e instanceof BackendsDown || e instanceof UsageError)
    process.stderr.write(`bench:scaleout: ${e.message}\n`);
  else process.stderr.write(`bench:scaleout: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  killAll();
  process.exitCode = 1;
});
