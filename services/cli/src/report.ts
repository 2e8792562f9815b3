import { formatIssue, type ArchiveReport, type VerifyIssue, type VerifyReport } from '@governor/receipts';
import { EXIT } from './errors';

/** Prints the listed issues, then how many more were found but not listed. */
function printIssues(issues: readonly VerifyIssue[], omitted = 0): void {
  for (const issue of issues) process.stdout.write(formatIssue(issue) + '\n');
  if (omitted > 0) process.stdout.write(`… and ${omitted} more issues, not listed\n`);
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
  if (json) process.stdout.write(JSON.stringify({ ...r, ...context.extra }, null, 2) + '\n');
  else {
    printIssues(r.issues, r.issues_omitted);
    for (const note of context.notes ?? []) process.stdout.write(note + '\n');
    process.stdout.write(
      `${r.ok ? 'VALID' : 'INVALID'}: ${chainSummary(r)}${r.ok ? '' : `, ${r.issues.length + r.issues_omitted} issue(s)`}\n`,
    );
  }
  return r.ok ? EXIT.VALID : EXIT.INVALID;
}

export function printArchiveReport(r: ArchiveReport, json: boolean): number {
  if (json) process.stdout.write(JSON.stringify(r, null, 2) + '\n');
  else {
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
