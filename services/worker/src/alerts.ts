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

/**
 * A promise rejected with nobody to handle it stops a Node process by default, and with it every
 * tenant the process serves, for one failed background task. The host processes
 * (`governor-worker`, `governor start`) install this instead: a critical alert, and the process
 * serves on. Returns what uninstalls it.
 */
export function alertOnUnhandledRejections(alerts: AlertSink): () => void {
  const handler = (reason: unknown) => {
    const error = reason instanceof Error ? reason : new Error(String(reason));
    alerts.alert({
      severity: 'critical',
      code: 'UNHANDLED_REJECTION',
      message: `a background task failed with nobody to handle it; serving on: ${error.message}`,
      details: { stack: error.stack ?? null },
    });
  };
  process.on('unhandledRejection', handler);
  return () => process.off('unhandledRejection', handler);
}
