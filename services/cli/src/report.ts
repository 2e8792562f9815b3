import { formatIssue, type ArchiveReport, type VerifyIssue, type VerifyReport } from '@governor/receipts';
import { EXIT } from './errors';

/** Prints the listed issues, then how many more were found but not listed. */
function printIssues(issues: readonly VerifyIssue[], omitted = 0): void {
  for (const issue of issues) process.stdout.write(formatIssue(issue) + '\n');
  if (omitted > 0) process.stdout.write(`… and ${omitted} more issues, not listed\n`);
}

/** Where an auditor gets a checkpoint to pass with --checkpoint. */
const CHECKPOINT_HINT =
  'pass --checkpoint FILE.note (governor export-receipts --checkpoint-out FILE.note, or GET /v1/tenants/ID/checkpoint)';

/**
 * A chain verified without any signed checkpoint proves its receipts, not its length: a cut
 * after the last receipt cannot be detected. Said on every verify it applies to (stderr for
 * people, `warnings` in JSON), never silently.
 */
export function checkpointWarnings(r: VerifyReport): string[] {
  if (r.count === 0 || r.checkpoints_verified > 0) return [];
  return [
    `no signed checkpoint was checked: a cut after seq ${String(r.last_seq)} cannot be detected; ${CHECKPOINT_HINT}`,
  ];
}

/** Prints warnings on stderr, so stdout stays the report. */
function printWarnings(warnings: readonly string[]): void {
  for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
}

export function chainSummary(r: VerifyReport): string {
  const range = r.first_seq === null ? 'no receipts' : `seq ${r.first_seq}..${r.last_seq}`;
  return `${r.count} receipts of ${r.chain ?? 'unknown chain'} (${range}), ${r.checkpoints_verified} checkpoint(s) verified, mode ${r.mode}`;
}

/**
 * Prints a chain report (lines or JSON) and returns the exit status. `notes` are printed before
 * the verdict line; `extra` fields are added to the JSON.
 */
export function printChainReport(
  r: VerifyReport,
  json: boolean,
  context: { notes?: readonly string[]; extra?: Record<string, unknown> } = {},
): number {
  const warnings = checkpointWarnings(r);
  if (json) process.stdout.write(JSON.stringify({ ...r, ...context.extra, warnings }, null, 2) + '\n');
  else {
    printWarnings(warnings);
    printIssues(r.issues, r.issues_omitted);
    for (const note of context.notes ?? []) process.stdout.write(note + '\n');
    process.stdout.write(
      `${r.ok ? 'VALID' : 'INVALID'}: ${chainSummary(r)}${r.ok ? '' : `, ${r.issues.length + r.issues_omitted} issue(s)`}\n`,
    );
  }
  return r.ok ? EXIT.VALID : EXIT.INVALID;
}

export function printArchiveReport(r: ArchiveReport, json: boolean): number {
  const warnings = r.chain ? checkpointWarnings(r.chain) : [];
  if (json) process.stdout.write(JSON.stringify({ ...r, warnings }, null, 2) + '\n');
  else {
    printWarnings(warnings);
    printIssues(r.issues, r.issues_omitted);
    if (r.chain) printIssues(r.chain.issues, r.chain.issues_omitted);
    if (r.keys_source === 'archive')
      process.stdout.write(
        'note: keys were taken from the archive itself; pass --keys with keys you trust to anchor the verification\n',
      );
    const what = r.chain ? chainSummary(r.chain) : 'no receipts';
    const found =
      r.issues.length + r.issues_omitted + (r.chain ? r.chain.issues.length + r.chain.issues_omitted : 0);
    process.stdout.write(
      `${r.ok ? 'VALID' : 'INVALID'} archive: ${what}${r.ok ? '' : `, ${found} issue(s)`}\n`,
    );
  }
  return r.ok ? EXIT.VALID : EXIT.INVALID;
}

/**
 * Prints the verdict of a verify-receipt stopped at a limit before it could find the receipt
 * (same shape as its other answers) and returns the exit status: INVALID.
 */
export function printReceiptLimit(
  o: { receiptId: string; accountId: string; keysSource: 'keyring' | 'archive'; detail: string },
  json: boolean,
): number {
  const issues: VerifyIssue[] = [{ code: 'LIMIT_EXCEEDED', seq: null, detail: o.detail }];
  if (json)
    process.stdout.write(
      JSON.stringify(
        {
          ok: false,
          receipt_id: o.receiptId,
          account_id: o.accountId,
          seq: null,
          leaf_hash: null,
          inclusion: null,
          keys_source: o.keysSource,
          issues,
        },
        null,
        2,
      ) + '\n',
    );
  else {
    printIssues(issues);
    process.stdout.write(`INVALID: receipt ${o.receiptId}, 1 issue(s)\n`);
  }
  return EXIT.INVALID;
}
