/** A tenant's durable record: profile, policy, state and concurrency (`/tenants/{account_id}`). */
export interface TenantRecord {
  readonly account_id: string;
  readonly sku_id: string;
  readonly plan_type: string;
  readonly region: string;
  readonly entitlement_id: string;
  readonly policy_version: string;
  readonly state: 'provisioning' | 'active' | 'draining' | 'decommissioned' | 'failed';
  readonly concurrency: number;
  readonly monthly_actions_used: number;
}

/** A durable action log entry (`/tenants/{id}/actions/{action_id}`): the fact that outlives timers. */
export interface ActionLogEntry {
  readonly action_id: string;
  readonly kind: string;
  readonly signal_id: string;
  readonly state: 'running' | 'complete' | 'rolled_back' | 'escalated';
  readonly deadline_at: number;
  readonly recoverable: boolean;
  /**
   * When the action started (ms since the epoch): what the monthly quota counts. Entries written
   * before it was kept lack it, and are not counted.
   */
  readonly started_at?: number;
  /**
   * The size of the tenant's chain when the action started: its outcome, if it has one, is a
   * receipt from there on (what reconcile looks for before it calls an action timed out).
   */
  readonly started_seq?: number;
}

export interface TenantDirectory {
  get(accountId: string): Promise<TenantRecord | null>;
  put(record: TenantRecord): Promise<void>;
  delete(accountId: string): Promise<void>;
  list(): Promise<TenantRecord[]>;
  putAction(accountId: string, entry: ActionLogEntry): Promise<void>;
  /**
   * Writes `entry` only if the log has no entry with its action_id, and says whether it did.
   * Action ids derive from signal ids, so this is what makes a redelivered signal run once.
   */
  startAction(accountId: string, entry: ActionLogEntry): Promise<boolean>;
  runningActions(accountId: string): Promise<ActionLogEntry[]>;
  /**
   * How many of the tenant's actions started at or after `since` (ms since the epoch): the
   * monthly quota's usage, durable with the actions it counts (one entry per started action).
   */
  actionsStartedSince(accountId: string, since: number): Promise<number>;
}
