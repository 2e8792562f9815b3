import { existsSync, promises as fs, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { compareSemver, parseSemver } from '@governor/policy';
import { CliError } from '../errors';

// The GitOps layout `policies/{plan}/{version}.json` as the CLI sees it on disk: where a file
// sits, which folder holds a plan's versions, and which versions are there. The rules a name
// follows are @governor/policy's (parseSemver, compareSemver), the ones the registries use.

const POLICIES = 'policies';
const VERSION_FILE = /^(.+)\.json$/;

/** Where a file sits in a `policies/{plan}/{version}.json` layout. */
export interface Placement {
  /** The folder name: what the document's `plan_type` must be. */
  readonly plan: string;
  /** The file name without `.json`: what the document's `policy_version` must be. */
  readonly version: string;
  /** The plan's folder, absolute. */
  readonly folder: string;
}

/**
 * The plan and version a file's path names, when it sits in a `policies/{plan}/` folder (its
 * grandparent is called `policies`); null for a file anywhere else, which the layout rules do not
 * bind. The version is the name as written, checked by the caller.
 */
export function placementOf(file: string): Placement | null {
  const path = resolve(file);
  const folder = dirname(path);
  if (basename(dirname(folder)) !== POLICIES) return null;
  const version = VERSION_FILE.exec(basename(path))?.[1];
  if (version === undefined) return null;
  return { plan: basename(folder), version, folder };
}

/** The nearest `policies/` folder at or above `from`, or null. */
function nearestPolicies(from: string): string | null {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    const candidate = join(dir, POLICIES);
    if (existsSync(candidate) && statSync(candidate).isDirectory()) return candidate;
    if (dirname(dir) === dir) return null;
  }
}

/**
 * The folder holding `plan`'s versions: `--policies DIR`'s `{plan}/`; else the file's own folder
 * when it sits in the layout; else `{plan}/` of the nearest `policies/` at or above the current
 * directory (a checkout's root).
 */
export function planFolder(plan: string, file: string, policiesFlag: string | undefined): string {
  if (policiesFlag !== undefined) return join(resolve(policiesFlag), plan);
  const placed = placementOf(file);
  if (placed !== null && placed.plan === plan) return placed.folder;
  const root = nearestPolicies(process.cwd());
  if (root === null)
    throw new CliError(
      `no policies/ folder here or above ${process.cwd()} to find plan ${plan}'s versions in: pass --policies DIR`,
    );
  return join(root, plan);
}

/** The `{MAJOR.MINOR.PATCH}.json` versions in a plan's folder, oldest first; other files are ignored. */
export async function versionsIn(folder: string): Promise<string[]> {
  let names: string[];
  try {
    names = await fs.readdir(folder);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return [];
    throw new CliError(`cannot list ${folder}: ${code ?? (e as Error).message}`, 2, { cause: e });
  }
  return names
    .map((name) => VERSION_FILE.exec(name)?.[1])
    .filter((v): v is string => v !== undefined && parseSemver(v) !== undefined)
    .sort(compareSemver);
}

/** Every `.json` file a validate argument names: the file itself, or a folder's, recursively, sorted. */
export async function policyFiles(arg: string): Promise<string[]> {
  let stat;
  try {
    stat = await fs.stat(arg);
  } catch (e) {
    throw new CliError(
      `cannot read policy file ${arg}: ${(e as NodeJS.ErrnoException).code ?? 'unreadable'}`,
      2,
      {
        cause: e,
      },
    );
  }
  if (!stat.isDirectory()) return [arg];
  const entries = await fs.readdir(arg, { withFileTypes: true });
  const found: string[] = [];
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const path = join(arg, entry.name);
    if (entry.isDirectory()) found.push(...(await policyFiles(path)));
    else if (entry.name.endsWith('.json')) found.push(path);
  }
  return found;
}
