import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CliError } from './errors';

type Options = NonNullable<ParseArgsConfig['options']>;

export type Value = string | boolean | (string | boolean)[] | undefined;
export interface Parsed {
  readonly values: Record<string, Value>;
  readonly positionals: string[];
}

/** node:util parseArgs, with unknown flags and missing values turned into one-line usage errors. */
export function parse(argv: string[], options: Options, usage: string): Parsed {
  try {
    return parseArgs({
      args: argv,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    throw new CliError(`${(e as Error).message.split('\n')[0] ?? 'bad arguments'}\nusage: ${usage}`);
  }
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
