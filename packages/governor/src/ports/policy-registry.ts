/** Versioned plan policies (`policies/{plan}/{version}.json`): the GitOps source of truth. */
export interface PolicyRegistry {
  get(plan: string, version: string): Promise<unknown>;
  latest(plan: string): Promise<unknown>;
  put(plan: string, version: string, policy: unknown): Promise<void>;
}
