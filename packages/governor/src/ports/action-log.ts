/**
 * A durable action log entry (`/tenants/{id}/actions/{action_id}`, beside the tenant chain's
 * receipts): the fact that outlives timers. Written ahead as `running` before the action starts
 * (`ReceiptLedger.startActions`), and in its final state by the same atomic append as the
 * receipt that ends the action (`LedgerEntry.action`).
 */
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
