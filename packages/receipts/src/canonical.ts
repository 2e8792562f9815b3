import { ReceiptsError } from './errors';

/**
 * RFC 8785 (JCS) canonical JSON. ECMAScript's JSON.stringify already serialises strings and
 * numbers the way JCS requires, so what is left is sorting keys by UTF-16 code units and
 * refusing every value JCS cannot represent faithfully, instead of silently changing it
 * (JSON.stringify would turn NaN into null and drop undefined).
 */
export function canonicalize(value: unknown): string {
  const out: string[] = [];
  write(value, out, '$');
  return out.join('');
}

function fail(path: string, why: string): never {
  throw new ReceiptsError('NOT_CANONICALIZABLE', `cannot canonicalize ${path}: ${why}`);
}

const ANY_SURROGATE = /[\uD800-\uDFFF]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function writeString(s: string, out: string[], path: string): void {
  // The cheap test rules out almost every string before the look-around one runs.
  if (ANY_SURROGATE.test(s) && LONE_SURROGATE.test(s)) fail(path, 'string contains a lone surrogate');
  out.push(JSON.stringify(s));
}

function write(value: unknown, out: string[], path: string): void {
  switch (typeof value) {
    case 'string':
      return writeString(value, out, path);
    case 'boolean':
      out.push(value ? 'true' : 'false');
      return;
    case 'number':
      if (!Number.isFinite(value)) fail(path, `${value} is not a JSON number`);
      if (Number.isInteger(value) && !Number.isSafeInteger(value)) fail(path, 'integer beyond ±2^53');
      out.push(JSON.stringify(value));
      return;
    case 'object':
      if (value === null) {
        out.push('null');
        return;
      }
      if (Array.isArray(value)) {
        out.push('[');
        value.forEach((item, i) => {
          if (i > 0) out.push(',');
          if (item === undefined) fail(`${path}[${i}]`, 'undefined is not JSON');
          write(item, out, `${path}[${i}]`);
        });
        out.push(']');
        return;
      }
      if (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null) {
        fail(path, `${value.constructor?.name ?? 'object'} is not a plain object`);
      }
      {
        // Default sort compares UTF-16 code units, which is exactly what JCS prescribes.
        const keys = Object.keys(value).sort();
        out.push('{');
        let first = true;
        for (const key of keys) {
          const item = (value as Record<string, unknown>)[key];
          if (item === undefined) fail(`${path}.${key}`, 'undefined is not JSON (omit the field instead)');
          if (!first) out.push(',');
          first = false;
          writeString(key, out, `${path} key`);
          out.push(':');
          write(item, out, `${path}.${key}`);
        }
        out.push('}');
      }
      return;
    default:
      fail(path, `${typeof value} is not JSON`);
  }
}

/** True when `text` is exactly the canonical form of the JSON it encodes. Never throws. */
export function isCanonical(text: string): { ok: true; value: unknown } | { ok: false; reason: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { ok: false, reason: `not JSON: ${(e as Error).message}` };
  }
  try {
    return canonicalize(value) === text
      ? { ok: true, value }
      : { ok: false, reason: 'bytes differ from the canonical form' };
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
}
