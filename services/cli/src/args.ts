import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CliError } from './errors';

export type Options = NonNullable<ParseArgsConfig['options']>;

export type Value = string | boolean | (string | boolean)[] | undefined;
export interface Parsed {
  readonly values: Record<string, Value>;
  readonly positionals: string[];
}

/** Accepted by every command: `-h/--help` (the command prints its help) and `-V/--version` (main prints it). */
const COMMON: Options = { help: { type: 'boolean', short: 'h' }, version: { type: 'boolean', short: 'V' } };

/**
 * node:util parseArgs, with every mistake a one-line usage error in our words: an unknown flag
 * names the nearest one the command takes (`unknown option --acount-id; did you mean
 * --account-id?`), then the usage line.
 */
export function parse(argv: string[], options: Options, usage: string): Parsed {
  const all = { ...options, ...COMMON };
  const fail = (message: string): never => {
    throw new CliError(`${message}\nusage: ${usage}`);
  };
  // A first pass that accepts anything, to name unknown flags ourselves.
  const { tokens } = parseArgs({
    args: argv,
    options: all,
    allowPositionals: true,
    strict: false,
    tokens: true,
  });
  for (const t of tokens ?? []) {
    if (t.kind !== 'option') continue;
    const known = all[t.name];
    if (known === undefined) {
      const nearest = suggest(t.name, Object.keys(all));
      fail(`unknown option ${t.rawName}${nearest === null ? '' : `; did you mean --${nearest}?`}`);
    }
    if (known?.type === 'boolean' && t.inlineValue === true) fail(`option ${t.rawName} takes no value`);
    if (known?.type === 'string' && t.value === undefined) fail(`option ${t.rawName} needs a value`);
  }
  try {
    return parseArgs({ args: argv, options: all, allowPositionals: true, strict: true });
  } catch (e) {
    // What is left: a value that looks like a flag (`--out --json`). Node's words, without its quotes.
    return fail((e as Error).message.split('\n')[0]?.replace(/'/g, '') ?? 'bad arguments');
  }
}

/** The flags a command's parser accepts, `--name` each: what its usage line must show. */
export function flagsOf(options: Options): string[] {
  return Object.keys(options).map((name) => `--${name}`);
}

/** The option name nearest to `name` (a typo's likely meaning), or null when none is near. */
export function suggest(name: string, names: readonly string[]): string | null {
  let best: { name: string; distance: number } | null = null;
  for (const candidate of names) {
    const distance = editDistance(name, candidate);
    if (best === null || distance < best.distance) best = { name: candidate, distance };
  }
  // One edit in four characters at most: `--acount-id` is a typo of `--account-id`, `--x` of nothing.
  if (best === null || best.distance > Math.max(1, Math.floor(best.name.length / 4))) return null;
  return best.name;
}

/** Damerau–Levenshtein (optimal string alignment): insertions, deletions, substitutions, swaps. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number) => (d[i] as number[])[j] as number;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        v = Math.min(v, at(i - 2, j - 2) + 1);
      (d[i] as number[])[j] = v;
    }
  return at(a.length, b.length);
}

export function required(
  value: string | boolean | (string | boolean)[] | undefined,
  flag: string,
  usage: string,
): string {
  if (typeof value !== 'string' || value === '') throw new CliError(`missing ${flag}\nusage: ${usage}`);
  return value;
}

export function positiveInt(value: string, flag: string): number {
  if (!/^[1-9]\d*$/.test(value) || !Number.isSafeInteger(Number(value)))
    throw new CliError(`${flag} must be a positive integer, got "${value}"`);
  return Number(value);
}

/** All values of a repeatable string flag. */
export function list(value: Value): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === 'string');
}
