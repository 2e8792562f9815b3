import { compareSemver } from '@governor/policy';
import { planUnknown } from '../errors';
import type { PolicyRegistry } from '../ports';

/** In-process policy registry: `latest` is the highest semantic version stored for a plan. */
export class MemoryRegistry implements PolicyRegistry {
  private readonly plans = new Map<string, Map<string, unknown>>();
  private latestFault: Error | null = null;

  /** Fails the next `latest` with `error`, as a registry that is briefly unreachable does. */
  failNextLatest(error: Error): void {
    this.latestFault = error;
  }

  get(plan: string, version: string): Promise<unknown> {
    const policy = this.plans.get(plan)?.get(version);
    return policy === undefined
      ? Promise.reject(new Error(`no policy ${plan} ${version}`))
      : Promise.resolve(policy);
  }

  latest(plan: string): Promise<unknown> {
    const fault = this.latestFault;
    this.latestFault = null;
    if (fault) return Promise.reject(fault);
    const versions = [...(this.plans.get(plan)?.keys() ?? [])].sort(compareSemver);
    const newest = versions[versions.length - 1];
    return newest === undefined ? Promise.reject(planUnknown(plan)) : this.get(plan, newest);
  }

  put(plan: string, version: string, policy: unknown): Promise<void> {
    let versions = this.plans.get(plan);
    if (!versions) this.plans.set(plan, (versions = new Map<string, unknown>()));
    versions.set(version, policy);
    return Promise.resolve();
  }
}
