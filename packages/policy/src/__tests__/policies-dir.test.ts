import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkCompatibility, compareSemver, costDelta, isMajorBump, validatePolicyText } from '../index';

// The GitOps source at the repository root: every file there must be a valid policy.
const root = join(__dirname, '..', '..', '..', '..', 'policies');
const files = readdirSync(root, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .flatMap((d) =>
    readdirSync(join(root, d.name))
      .filter((f) => f.endsWith('.json'))
      .map((f) => ({ plan: d.name, file: f, path: join(root, d.name, f) })),
  );

function load(plan: string, version: string) {
  const result = validatePolicyText(readFileSync(join(root, plan, `${version}.json`), 'utf8'));
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  return result.value;
}

describe('policies/', () => {
  it('holds the three plans', () => {
    expect(new Set(files.map((f) => f.plan))).toEqual(new Set(['starter', 'professional', 'enterprise']));
  });

  it.each(files.map((f) => [`${f.plan}/${f.file}`, f] as const))(
    '%s is valid and named after its content',
    (_, f) => {
      const result = validatePolicyText(readFileSync(f.path, 'utf8'));
      expect(result).toMatchObject({ ok: true });
      if (!result.ok) return;
      expect(result.value.plan_type).toBe(f.plan);
      expect(`${result.value.policy_version}.json`).toBe(f.file);
      expect(Object.keys(result.value.actions)).toEqual(expect.arrayContaining(['noop', 'webhook']));
    },
  );

  it('professional has the runbook figures', () => {
    const p = load('professional', '1.0.0');
    expect(p.quotas).toEqual({ monthly_actions: 10_000, concurrent_actions: 20, max_concurrent_actions: 50 });
    expect(p.actions.webhook).toMatchObject({
      handler: 'http',
      endpoint: 'http://127.0.0.1:9/actions/webhook',
      recoverable: true,
      timeout_ms: 500,
    });
    expect(p.actions.report).toMatchObject({ handler: 'noop', recoverable: false });
    // Runbook 3's example receipt: prev=20, new=50, cost_delta_usd 0.50.
    expect(costDelta(p, p.quotas.concurrent_actions, p.quotas.max_concurrent_actions)).toBe(0.5);
  });

  it('starter and enterprise have their quotas', () => {
    expect(load('starter', '1.0.0').quotas).toEqual({
      monthly_actions: 1_000,
      concurrent_actions: 5,
      max_concurrent_actions: 10,
    });
    expect(load('enterprise', '1.0.0').quotas).toEqual({
      monthly_actions: 100_000,
      concurrent_actions: 50,
      max_concurrent_actions: 200,
    });
  });

  it('no sku belongs to two plans', () => {
    const skus = files.flatMap((f) => load(f.plan, f.file.replace(/\.json$/, '')).skus);
    expect(new Set(skus).size).toBe(skus.length);
  });

  it('within a major version, each plan version is a compatible upgrade of the one before', () => {
    for (const plan of new Set(files.map((f) => f.plan))) {
      const versions = files
        .filter((f) => f.plan === plan)
        .map((f) => load(plan, f.file.replace(/\.json$/, '')))
        .sort((x, y) => compareSemver(x.policy_version, y.policy_version));
      for (let i = 1; i < versions.length; i++) {
        const [before, after] = [versions[i - 1], versions[i]];
        if (!before || !after || isMajorBump(before.policy_version, after.policy_version)) continue;
        expect(checkCompatibility(before, after)).toEqual({ compatible: true, reasons: [] });
      }
    }
  });
});
