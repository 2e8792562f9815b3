import type { Policy } from '@governor/contracts';

type Plain = Record<string, unknown>;

function isPlain(value: unknown): value is Plain {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function show(value: unknown): string {
  if (value === undefined) return '(none)';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

function keysOf(a: Plain, b: Plain): string[] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])];
}

// Walks both values field by field so a field added to the schema later is diffed without
// touching this file. A block present on one side only (a rollback) is compared against {},
// which lists its fields as added or removed instead of dumping it as one JSON value.
function walk(path: string, a: unknown, b: unknown, out: string[]): void {
  if (isPlain(a) || isPlain(b)) {
    if ((isPlain(a) || a === undefined) && (isPlain(b) || b === undefined)) {
      const left = a ?? {};
      const right = b ?? {};
      for (const key of keysOf(left, right)) walk(`${path}.${key}`, left[key], right[key], out);
      return;
    }
  }
  if (a === b || JSON.stringify(a) === JSON.stringify(b)) return;
  out.push(`${path}: ${show(a)} -> ${show(b)}`);
}

function diffSkus(a: readonly string[], b: readonly string[], out: string[]): void {
  for (const sku of a) if (!b.includes(sku)) out.push(`- sku ${JSON.stringify(sku)}`);
  for (const sku of b) if (!a.includes(sku)) out.push(`+ sku ${JSON.stringify(sku)}`);
}

function diffActions(a: Policy['actions'], b: Policy['actions'], out: string[]): void {
  for (const kind of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
    const before = Object.hasOwn(a, kind) ? a[kind] : undefined;
    const after = Object.hasOwn(b, kind) ? b[kind] : undefined;
    if (before === undefined) out.push(`+ action kind ${JSON.stringify(kind)}`);
    else if (after === undefined) out.push(`- action kind ${JSON.stringify(kind)}`);
    else walk(`actions.${kind}`, before, after, out);
  }
}

/**
 * What changed from policy `a` to policy `b`, one human-readable line per change, in schema
 * order: `quotas.max_concurrent_actions: 50 -> 100`, `+ action kind "export"`,
 * `- sku "old-sku"`. Strings are quoted, absent values are `(none)`. Empty when equal.
 */
export function diffPolicies(a: Policy, b: Policy): string[] {
  const out: string[] = [];
  const left = a as unknown as Plain;
  const right = b as unknown as Plain;
  for (const key of keysOf(left, right)) {
    if (key === 'skus') diffSkus(a.skus, b.skus, out);
    else if (key === 'actions') diffActions(a.actions, b.actions, out);
    else walk(key, left[key], right[key], out);
  }
  return out;
}

/** The diff as text for a terminal or a review comment: a header line, then one indented line per change. */
export function formatDiff(a: Policy, b: Policy): string {
  const from = `${a.plan_type} ${a.policy_version}`;
  const to = a.plan_type === b.plan_type ? b.policy_version : `${b.plan_type} ${b.policy_version}`;
  const lines = diffPolicies(a, b);
  const body = lines.length === 0 ? ['  (no changes)'] : lines.map((line) => `  ${line}`);
  return [`policy ${from} -> ${to}`, ...body].join('\n') + '\n';
}
