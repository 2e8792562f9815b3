import type { AlertSeverity } from '@governor/contracts';

export type { AlertSeverity } from '@governor/contracts';

/** Where escalations go (pager, log, ticket). Never throws: an alert that cannot be sent is logged by the adapter. */
export interface AlertSink {
  alert(alert: {
    severity: AlertSeverity;
    code: string;
    message: string;
    account_id?: string;
    details?: Record<string, unknown>;
  }): void;
}
