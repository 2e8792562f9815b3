import { formatIssue, type ArchiveReport, type VerifyIssue, type VerifyReport } from '@governor/receipts';
import { EXIT } from './errors';

function printIssues(issues: readonly VerifyIssue[]): void {
  for (const issue of issues) process.stdout.write(formatIssue(issue) + '\n');
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
    printIssues(r.issues);
    if (r.issues_omitted > 0) process.stdout.write(`… and ${r.issues_omitted} more issues\n`);
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
    printIssues(r.issues);
    if (r.chain) printIssues(r.chain.issues);
    if (r.keys_source === 'archive')
      process.stdout.write(
        'note: keys were taken from the archive itself; pass --keys with keys you trust to anchor the verification\n',
      );
    const what = r.chain ? chainSummary(r.chain) : 'no receipts';
    process.stdout.write(`${r.ok ? 'VALID' : 'INVALID'} archive: ${what}\n`);
  }
  return r.ok ? EXIT.VALID : EXIT.INVALID;
}
