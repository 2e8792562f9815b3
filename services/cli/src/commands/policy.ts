import { randomUUID } from 'node:crypto';
import { join, relative, resolve } from 'node:path';
import type { Policy } from '@governor/contracts';
import { compareSemver, parseSemver } from '@governor/policy';
import { canonicalize } from '@governor/receipts';
import { parse } from '../args';
import { CliError, EXIT } from '../errors';
import { readText } from '../io';
import { detail, failure, outputOf, printJson, success, type Output } from '../output';
import { edgeUrl, postSigned, senderSecrets } from '../edge-client';
import { costLine, diffReport } from '../policy/diff';
import { planFolder, policyFiles, versionsIn } from '../policy/layout';
import { summarizePush } from '../policy/push-answer';
import { issueLine, validateFile, type FileValidation } from '../policy/validate-file';

const VALIDATE_USAGE = 'governor policy validate FILE|DIR... [--json]';
const DIFF_USAGE = 'governor policy diff FILE [--against VERSION] [--policies DIR] [--json]';
const PUSH_USAGE =
  'governor policy push FILE [--force] [--skip-compatibility-check] [--url URL] [--data-dir DIR] [--json]';
const USAGE = `${VALIDATE_USAGE}\n       ${DIFF_USAGE}\n       ${PUSH_USAGE}`;

export const policyHelp = `governor policy validate|diff|push FILE  check a plan policy, compare it with the current one, push it
  Plan policies live in policies/{plan}/{version}.json (policies/README.md). A pipeline runs
  validate, then diff, then push.

${VALIDATE_USAGE}
  Checks each file (a DIR: every .json under it) against the policy schema the governor uses, and,
  for a file in policies/{plan}/{version}.json, that plan_type names the folder and
  policy_version the file name. Prints each issue on its own line as FILE: path: message.
  Exit: 0 all valid, 1 an issue, 2 a file cannot be read.

${DIFF_USAGE}
  Compares FILE with the previous version of its plan (the highest below FILE's in the plan's
  folder: FILE's own when it sits in policies/{plan}/, else policies/{plan}/ here or above, or
  --policies DIR) or with --against VERSION from that folder: the fields that changed, the
  compatibility verdict a push would get, and the hourly cost per governor at the plan's starting
  concurrency and at its ceiling. The running governor has no API that returns its current
  policy, so the folder is the reference (the embedded default's registry starts as a copy of it).
  Exit: 0 a push would apply it, 1 a push would be refused (incompatible without --force, or a
  version already published), 2 usage error or unreadable file.

${PUSH_USAGE}
  Pushes a policy the way the GitOps pipeline does: POST /v1/policies signed with the first secret
  of GOVERNOR_POLICY_SECRETS (else DIR/dev-secrets.json). Prints one line: the new and previous
  version and how many governors upgraded, or why the push was refused.
  --force                      apply an incompatible policy anyway (writes an escalation receipt)
  --skip-compatibility-check   the same as --force
  --url URL                    the governor (default GOVERNOR_URL, else http://127.0.0.1:8080)
  --data-dir DIR               where dev-secrets.json is (default GOVERNOR_DATA_DIR, else .governor)
  Exit: 0 applied, 1 refused (409 incompatible or version exists, 422 invalid), 2 usage or connection error.

--json prints the result as one JSON document instead (the API's answer, for push).`;

const SUBCOMMANDS: Record<string, (argv: string[]) => Promise<number>> = {
  validate: validateCommand,
  diff: diffCommand,
  push: pushCommand,
};

export async function policyCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === '--help' || sub === '-h' || sub === 'help') {
    process.stdout.write(policyHelp + '\n');
    return 0;
  }
  if (sub === undefined) {
    process.stdout.write(policyHelp + '\n');
    return EXIT.USAGE;
  }
  const run = SUBCOMMANDS[sub];
  if (!run) throw new CliError(`unknown policy command "${sub}"\nusage: ${USAGE}`);
  return run(rest);
}

/** Parses a subcommand's flags; null when it asked for help (printed). */
function parseSub(argv: string[], options: Parameters<typeof parse>[1], usage: string) {
  const parsed = parse(argv, { ...options, json: { type: 'boolean' } }, usage);
  if (parsed.values.help) {
    process.stdout.write(policyHelp + '\n');
    return null;
  }
  return parsed;
}

function oneFile(positionals: string[], usage: string): string {
  const file = positionals[0];
  if (file === undefined || positionals.length > 1)
    throw new CliError(`give one policy FILE\nusage: ${usage}`);
  return file;
}

function printIssues(out: Output, result: FileValidation): void {
  if (result.ok && result.policy)
    success(out, `${result.file}: ${result.policy.plan_type} ${result.policy.policy_version}`);
  for (const issue of result.issues) process.stdout.write(issueLine(result.file, issue) + '\n');
}

async function validateCommand(argv: string[]): Promise<number> {
  const parsed = parseSub(argv, {}, VALIDATE_USAGE);
  if (parsed === null) return 0;
  if (parsed.positionals.length === 0)
    throw new CliError(`give at least one policy FILE or DIR\nusage: ${VALIDATE_USAGE}`);
  const out = outputOf(parsed.values.json);
  const files: string[] = [];
  for (const arg of parsed.positionals) files.push(...(await policyFiles(arg)));
  if (files.length === 0) throw new CliError(`no .json files in ${parsed.positionals.join(' ')}`);
  const results: FileValidation[] = [];
  for (const file of files) results.push(await validateFile(file));
  const ok = results.every((r) => r.ok);
  if (out.json)
    printJson({
      ok,
      files: results.map((r) => ({
        file: r.file,
        ok: r.ok,
        plan_type: r.policy?.plan_type ?? null,
        policy_version: r.policy?.policy_version ?? null,
        issues: r.issues,
      })),
    });
  else for (const result of results) printIssues(out, result);
  return ok ? EXIT.VALID : EXIT.INVALID;
}

/** A policy from the plan's folder, which must be valid: it is what the diff is measured against. */
async function folderPolicy(folder: string, version: string): Promise<{ file: string; policy: Policy }> {
  const file = join(folder, `${version}.json`);
  const checked = await validateFile(file);
  const first = checked.issues[0];
  if (checked.policy === null || first !== undefined)
    throw new CliError(
      `${file} is not a valid policy (${first ? issueLine(file, first) : 'unknown issue'}): run governor policy validate ${file}`,
    );
  return { file, policy: checked.policy };
}

async function diffCommand(argv: string[]): Promise<number> {
  const parsed = parseSub(
    argv,
    { against: { type: 'string' }, policies: { type: 'string' }, url: { type: 'string' } },
    DIFF_USAGE,
  );
  if (parsed === null) return 0;
  const { values, positionals } = parsed;
  if (values.url !== undefined)
    throw new CliError(
      'policy diff --url is not supported: the governor API has no route that returns its current policy (only POST /v1/policies); diff against the policies/ folder (the default) or --against VERSION',
    );
  const file = oneFile(positionals, DIFF_USAGE);
  const out = outputOf(values.json);
  const next = await validateFile(file);
  if (!next.ok || next.policy === null) {
    if (out.json) printJson({ ok: false, file, issues: next.issues });
    else printIssues(out, next);
    return EXIT.INVALID;
  }
  const policy = next.policy;
  const plan = policy.plan_type;
  const folder = planFolder(plan, file, values.policies as string | undefined);
  const shown = relative(process.cwd(), folder) || '.';
  const own = join(folder, `${policy.policy_version}.json`) === resolve(file);
  const others = (await versionsIn(folder)).filter((v) => !(own && v === policy.policy_version));

  let against: string | undefined;
  if (typeof values.against === 'string') {
    if (parseSemver(values.against) === undefined)
      throw new CliError(`--against must be a version MAJOR.MINOR.PATCH, got "${values.against}"`);
    if (!others.includes(values.against))
      throw new CliError(
        `no ${plan} ${values.against} in ${shown}/ (it has ${others.join(', ') || 'no versions'})`,
      );
    against = values.against;
  } else {
    against = others.filter((v) => compareSemver(v, policy.policy_version) < 0).at(-1);
  }
  if (against === undefined) {
    const text = `no earlier ${plan} version in ${shown}/: a push publishes ${plan} ${policy.policy_version} as the plan's first policy`;
    if (out.json)
      printJson({ ok: true, file, plan_type: plan, from: null, to: policy.policy_version, note: text });
    else success(out, text);
    return EXIT.VALID;
  }
  const base = await folderPolicy(folder, against);
  const newest = others.at(-1);
  const latest =
    newest === undefined
      ? null
      : await folderPolicy(folder, newest).then((l) => ({
          policy: l.policy,
          sameContent: canonicalize(l.policy) === canonicalize(policy),
        }));
  const report = diffReport(base.policy, policy, latest);
  const applies = report.compatible && report.refusal === null;
  if (out.json) {
    printJson({ ok: applies, file, against: relative(process.cwd(), base.file), ...report });
    return applies ? EXIT.VALID : EXIT.INVALID;
  }
  process.stdout.write(
    `policy ${plan} ${report.from} -> ${report.to} (${relative(process.cwd(), base.file)} -> ${file})\n`,
  );
  for (const line of report.changes.length > 0 ? report.changes : ['(no changes)'])
    process.stdout.write(`  ${line}\n`);
  if (report.compatible) success(out, 'compatible: a push upgrades running governors without a restart');
  else {
    failure(out, `incompatible: ${report.reasons.join('; ')}`);
    detail(out, 'a push answers 409 POLICY_INCOMPATIBLE; push with --force to apply it anyway');
  }
  if (report.refusal !== null) {
    failure(out, `refused: ${report.refusal}`);
    detail(out, 'a push answers 409 POLICY_VERSION_EXISTS, with or without --force');
  }
  process.stdout.write(
    `cost per governor: ${costLine('at start', report.cost.start)}, ${costLine('at the ceiling', report.cost.ceiling)}\n`,
  );
  for (const note of report.notes) process.stdout.write(`note: ${note}\n`);
  return applies ? EXIT.VALID : EXIT.INVALID;
}

async function pushCommand(argv: string[]): Promise<number> {
  const parsed = parseSub(
    argv,
    {
      force: { type: 'boolean' },
      'skip-compatibility-check': { type: 'boolean' },
      url: { type: 'string' },
      'data-dir': { type: 'string' },
    },
    PUSH_USAGE,
  );
  if (parsed === null) return 0;
  const { values, positionals } = parsed;
  const file = oneFile(positionals, PUSH_USAGE);
  const out = outputOf(values.json);
  let policy: unknown;
  try {
    policy = JSON.parse(await readText(file, 'policy file'));
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(`${file} is not JSON: ${(e as Error).message}`);
  }
  const body = JSON.stringify({
    policy,
    compatibility_check: values['skip-compatibility-check'] !== true,
    force: values.force === true,
  });
  const secrets = await senderSecrets(values['data-dir']);
  const secret = secrets.policySecrets[0];
  if (!secret) throw new CliError('no policy secret configured (GOVERNOR_POLICY_SECRETS)');
  const answer = await postSigned(
    edgeUrl(values.url),
    '/v1/policies',
    secret,
    body,
    `policy_${randomUUID()}`,
  );
  const plan = (policy as { plan_type?: unknown } | null)?.plan_type;
  const summary = summarizePush(answer, typeof plan === 'string' ? plan : '?');
  if (out.json) printJson(answer.body);
  else {
    (summary.ok ? success : failure)(out, summary.line);
    for (const line of summary.details) detail(out, line);
  }
  return summary.ok ? EXIT.VALID : EXIT.INVALID;
}
