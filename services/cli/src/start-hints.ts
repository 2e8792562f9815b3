import { existsSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { DEFAULT_URL } from './edge-client';

/** `word` as one shell word: unchanged when it is safe bare, else in single quotes. */
export function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * How to run this CLI from the current directory: `bash scripts/governor.sh` at the repository
 * root, a relative path to it below the root, its absolute path elsewhere, and `governor` when
 * this is not a checkout (an installed bin).
 */
export function selfCommand(): string {
  // services/cli/dist (or src) → the repository root.
  const script = join(__dirname, '..', '..', '..', 'scripts', 'governor.sh');
  if (!existsSync(script)) return 'governor';
  const rel = relative(process.cwd(), script);
  return `bash ${shellWord(rel.startsWith('..') || isAbsolute(rel) ? resolve(script) : rel)}`;
}

/**
 * The next-step commands `governor start` prints, runnable as printed: they name the data dir
 * (absolute, so another terminal's directory does not matter) unless it is the default one, and
 * the URL unless it is the default one, since that is where the senders look otherwise.
 */
export function startHints(self: string, url: string, dataDir: string): string[] {
  const where = [
    ...(url.replace(/\/+$/, '') === DEFAULT_URL ? [] : ['--url', url]),
    ...(resolve(dataDir) === resolve('.governor') ? [] : ['--data-dir', resolve(dataDir)]),
  ];
  return [
    [
      'webhook',
      'send',
      '--type',
      'entitlement.created',
      '--account-id',
      'acme',
      '--plan',
      'starter',
      ...where,
    ],
    ['signal', 'send', '--account-id', 'acme', '--action', 'noop', ...where],
  ].map((args) => `${self} ${args.map(shellWord).join(' ')}`);
}
