import { formatIssue, verifyLines, type VerifyMode } from '@governor/receipts';
import type { Rate } from './emit';
import { KEYRING } from './fixture';
import { cpuMs, progress, rate, since } from './progress';

export interface Verified extends Rate {
  readonly ok: boolean;
  readonly count: number;
  readonly checkpointsVerified: number;
  /** The first few issues, if any: a fast verifier that rejects good receipts measures nothing. */
  readonly issues: readonly string[];
}

function* withProgress(lines: readonly string[], label: string): Generator<string> {
  const tick = progress(label, lines.length);
  for (let i = 0; i < lines.length; i++) {
    yield lines[i] as string;
    tick(i + 1);
  }
}

/** verifyLines over in-memory lines, timed from creating the verifier to its report. */
export async function measureVerify(
  lines: readonly string[],
  checkpoint: string,
  mode: VerifyMode,
  threads: number,
): Promise<Verified> {
  const label = mode === 'full' ? `full verify (${threads} worker threads)` : 'checkpoint verify';
  const start = performance.now();
  const cpu = cpuMs();
  const report = await verifyLines(withProgress(lines, label), {
    keyring: KEYRING,
    checkpoints: [checkpoint],
    mode,
    threads,
  });
  const ms = since(start);
  return {
    ms,
    rate: rate(report.count, ms),
    cores: (cpuMs() - cpu) / ms,
    ok: report.ok,
    count: report.count,
    checkpointsVerified: report.checkpoints_verified,
    issues: report.issues.slice(0, 5).map(formatIssue),
  };
}

export interface Acceptance {
  readonly ok: boolean;
  readonly count: number;
  readonly checkpointsVerified: number;
  readonly issues: readonly string[];
}

/** Whether every run accepted all `count` receipts of the valid chain and its one checkpoint; if not, why. */
export function accepted(count: number, runs: readonly Acceptance[]): { ok: boolean; why: string } {
  const bad = runs.find((v) => !v.ok || v.count !== count || v.checkpointsVerified !== 1);
  if (bad === undefined) return { ok: true, why: '' };
  return {
    ok: false,
    why: `verify said ok=${bad.ok} for ${bad.count}/${count} receipts, ${bad.checkpointsVerified} checkpoints: ${bad.issues.join(' | ')}`,
  };
}
