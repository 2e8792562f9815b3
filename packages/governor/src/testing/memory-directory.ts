import type { TenantDirectory, TenantRecord } from '../ports';

/** In-process tenant directory, for tests and the benchmark. */
export class MemoryDirectory implements TenantDirectory {
  private readonly tenants = new Map<string, TenantRecord>();
  private putFault: ((record: TenantRecord) => Error | null) | null = null;

  /** Fails every put for which `rule` returns an error (null: puts succeed again). */
  failPutsWhen(rule: ((record: TenantRecord) => Error | null) | null): void {
    this.putFault = rule;
  }

  get(accountId: string): Promise<TenantRecord | null> {
    return Promise.resolve(this.tenants.get(accountId) ?? null);
  }

  put(record: TenantRecord): Promise<void> {
    const fault = this.putFault?.(record);
    if (fault) return Promise.reject(fault);
    this.tenants.set(record.account_id, record);
    return Promise.resolve();
  }

  delete(accountId: string): Promise<void> {
    this.tenants.delete(accountId);
    return Promise.resolve();
  }

  list(): Promise<TenantRecord[]> {
    return Promise.resolve([...this.tenants.values()]);
  }
}
