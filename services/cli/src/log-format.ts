/**
 * pino's JSON lines made readable for a person at a terminal:
 *   14:02:07.412 INFO  tenant provisioned account_id=acme receipt_id=7c1e…
 * A pino destination (anything with `write`), so nothing else changes: off a terminal the
 * same logger writes JSON lines as before.
 */

const LEVELS: Record<number, { name: string; color: number }> = {
  10: { name: 'TRACE', color: 90 },
  20: { name: 'DEBUG', color: 36 },
  30: { name: 'INFO ', color: 32 },
  40: { name: 'WARN ', color: 33 },
  50: { name: 'ERROR', color: 31 },
  60: { name: 'FATAL', color: 35 },
};

/** Fields every line has, shown elsewhere or not worth a person's attention. */
const OMITTED = new Set(['level', 'time', 'msg', 'pid', 'hostname']);
const MAX_VALUE = 80;
const MAX_FIELDS = 6;

function valueText(value: unknown): string {
  if (value !== null && typeof value === 'object' && 'message' in value)
    return JSON.stringify(String(value.message));
  const text =
    typeof value !== 'string'
      ? JSON.stringify(value)
      : /[\s"=]/.test(value) || value === ''
        ? JSON.stringify(value)
        : value;
  return text.length > MAX_VALUE ? `${text.slice(0, MAX_VALUE - 1)}…` : text;
}

/** One pino line in words; a line that is not pino's JSON is passed through. */
export function formatLogLine(line: string, color: boolean): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  if (entry === null || typeof entry !== 'object') return line;
  const level = LEVELS[entry.level as number] ?? { name: String(entry.level), color: 0 };
  const time = typeof entry.time === 'number' ? new Date(entry.time).toISOString().slice(11, 23) : '';
  const paint = (code: number, text: string) => (color ? `\u001b[${code}m${text}\u001b[0m` : text);
  const fields = Object.entries(entry).filter(([key, value]) => !OMITTED.has(key) && value !== undefined);
  const shown = fields
    .slice(0, MAX_FIELDS)
    .map(([key, value]) => `${paint(2, key + '=')}${valueText(value)}`);
  if (fields.length > MAX_FIELDS) shown.push(paint(2, `(+${fields.length - MAX_FIELDS} more)`));
  const msg = typeof entry.msg === 'string' ? entry.msg : '';
  return [paint(2, time), paint(level.color, level.name), msg, ...shown].filter((s) => s !== '').join(' ');
}

/** A pino destination that writes each line to `stream` in words. */
export function readableLog(stream: NodeJS.WriteStream, color: boolean): { write(chunk: string): void } {
  return {
    write(chunk: string) {
      for (const line of chunk.split('\n')) if (line !== '') stream.write(formatLogLine(line, color) + '\n');
    },
  };
}
