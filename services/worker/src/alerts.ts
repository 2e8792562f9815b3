import type { AlertSink } from '@governor/governor';
import type { Logger } from 'pino';

/** Alerts as log lines (error for critical, warn otherwise): the pager reads the log. */
export function logAlerts(log: Logger): AlertSink {
  return {
    alert: ({ severity, code, message, ...details }) => {
      const line = { alert: code, severity, ...details };
      if (severity === 'critical') log.error(line, message);
      else log.warn(line, message);
    },
  };
}
