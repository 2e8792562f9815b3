/**
 * How a command speaks: one short line per result for people (colour only on a terminal, and
 * never with NO_COLOR), or one JSON document for scripts (`--json`). Every command that prints
 * a result goes through here, so `--json` means the same everywhere.
 */
export interface Output {
  readonly json: boolean;
  readonly color: boolean;
}

/** The output a command's parsed `--json` flag asks for. */
export function outputOf(json: unknown, stream: NodeJS.WriteStream = process.stdout): Output {
  return {
    json: json === true,
    color: stream.isTTY === true && process.env.NO_COLOR === undefined && process.env.TERM !== 'dumb',
  };
}

const paint = (out: Output, code: number, text: string) =>
  out.color ? `\u001b[${code}m${text}\u001b[0m` : text;

/** `✔ text` (green on a terminal): something worked. */
export function success(out: Output, text: string): void {
  process.stdout.write(`${paint(out, 32, '✔')} ${text}\n`);
}

/** `✖ text` (red on a terminal): something was refused or failed. */
export function failure(out: Output, text: string): void {
  process.stdout.write(`${paint(out, 31, '✖')} ${text}\n`);
}

/** A further line under a result (indented, dim on a terminal). */
export function detail(out: Output, text: string): void {
  process.stdout.write(`  ${paint(out, 2, text)}\n`);
}

/** The one JSON document of a `--json` run. */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}
