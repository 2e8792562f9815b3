import { num } from '../report';
import type { Throughput } from './load';

/** Which component limited a throughput run, from the cores each kept busy. */

export interface Verdict {
  /** What limited the run, in a few words. */
  readonly saturated: string;
  /** All the machine's CPUs were busy. */
  readonly machineBound: boolean;
  /** An emulator was saturated, or the machine was and the emulators used more of it than the workers. */
  readonly emulatorBound: boolean;
  /** CPU ms per signal: the workers together, each emulator, this process. */
  readonly perSignal: Readonly<Record<string, number>>;
  /** Signals/s the machine's CPUs could carry at these costs, if nothing else ran on it. */
  readonly ceiling: number | null;
  readonly text: string;
}

export const c2 = (x: number | null | undefined): string =>
  x === null || x === undefined ? '-' : x.toFixed(2);
const ms1 = (x: number | undefined): string => (x === undefined ? '-' : `${x.toFixed(1)} ms`);
export const EMULATORS = ['firestore', 'pubsub', 'gcs'] as const;

/**
 * Which component limited a run, from the cores each kept busy: a worker is one JavaScript
 * thread (≈ 1 core at most, a little more with GC and I/O threads); an emulator is a JVM (or Go)
 * process that can use every core; the machine has `cpus` cores for all of them, this process
 * and whatever else runs. With the CPU each spends per signal, the most the machine could carry.
 */
export function verdict(r: Throughput, cpus: number): Verdict {
  const v = (k: string) => r.cores[k] ?? 0;
  const workers = r.workers.reduce((s, w) => s + v(w), 0);
  const emu = EMULATORS.reduce((s, e) => s + v(e), 0);
  const own = workers + emu + v('bench');
  const per = (cores: number) => (r.signals > 0 ? (cores * r.ms) / r.signals : 0);
  const perSignal: Record<string, number> = { workers: per(workers) };
  for (const e of EMULATORS) perSignal[e] = per(v(e));
  perSignal.bench = per(v('bench'));
  const ceiling = own > 0 && r.rate > 0 ? (cpus * r.rate) / own : null;
  const machine = r.cores.machine ?? own + v('other');
  const machineBound = machine / cpus >= 0.85;
  const hotWorker = r.workers.find((w) => v(w) >= 0.85);
  const hotEmulator = EMULATORS.find((e) => v(e) >= 0.85);
  const emulatorBound = hotEmulator !== undefined || (machineBound && emu > workers);
  const saturated =
    hotWorker !== undefined
      ? `${hotWorker}'s JavaScript thread`
      : hotEmulator !== undefined
        ? `the ${hotEmulator} emulator`
        : machineBound
          ? `the machine's ${cpus} CPUs`
          : 'no CPU (latency-bound)';
  const costs =
    `CPU per signal: workers ${ms1(perSignal.workers)}, firestore ${ms1(perSignal.firestore)}, pubsub ` +
    `${ms1(perSignal.pubsub)}, gcs ${ms1(perSignal.gcs)}, bench ${ms1(perSignal.bench)}`;
  const busy =
    `cores busy: ${r.workers.map((w) => `${w} ${c2(r.cores[w])}`).join(', ')}, firestore ${c2(r.cores.firestore)}, ` +
    `pubsub ${c2(r.cores.pubsub)}, gcs ${c2(r.cores.gcs)}, bench ${c2(r.cores.bench)}, other jobs ${c2(r.cores.other)}; ` +
    `machine ${c2(machine)} of ${cpus}`;
  const share =
    machineBound && hotWorker === undefined && hotEmulator === undefined
      ? ` Of our processes the ${emu > workers ? 'emulators' : 'workers'} use the larger part (emulators ${c2(emu)}, workers ${c2(workers)} cores).`
      : '';
  return {
    saturated,
    machineBound,
    emulatorBound,
    perSignal,
    ceiling,
    text:
      `${saturated} (${busy}).${share} ${costs}` +
      (ceiling === null ? '.' : `: at these costs ${cpus} cores carry at most ~${num(ceiling)} signals/s.`) +
      (r.workers.length === 1 && perSignal.workers && perSignal.workers > 0
        ? ` One worker's thread alone could do ~${num(1000 / perSignal.workers)}/s.`
        : ''),
  };
}
