import type { ActionLogEntry, TenantDirectory, TenantRecord } from '../ports';

/** In-process tenant directory and action log, for tests and the benchmark. */
export class MemoryDirectory implements TenantDirectory {
  private readonly tenants = new Map<string, TenantRecord>();
  private readonly actions = new Map<string, Map<string, ActionLogEntry>>();
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
    this.actions.delete(accountId);
    return Promise.resolve();
  }

  list(): Promise<TenantRecord[]> {
    return Promise.resolve([...this.tenants.values()]);
  }

  putAction(accountId: string, entry: ActionLogEntry): Promise<void> {
    let log = this.actions.get(accountId);
    if (!log) this.actions.set(accountId, (log = new Map<string, ActionLogEntry>()));
    log.set(entry.action_id, entry);
    return Promise.resolve();
  }

  startAction(accountId: string, entry: ActionLogEntry): Promise<boolean> {
    if (this.actions.get(accountId)?.has(entry.action_id)) return Promise.resolve(false);
    return this.putAction(accountId, entry).then(() => true);
  }

  runningActions(accountId: string): Promise<ActionLogEntry[]> {
    return Promise.resolve(
      [...(this.actions.get(accountId)?.values() ?? [])].filter((a) => a.state === 'running'),
    );
  }

  actionsStartedSince(accountId: string, since: number): Promise<number> {
    const entries = [...(this.actions.get(accountId)?.values() ?? [])];
    return Promise.resolve(entries.filter((a) => (a.started_at ?? -Infinity) >= since).length);
  }
}
