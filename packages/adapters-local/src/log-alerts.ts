import type { AlertSink } from '@governor/governor';

type Alert = Parameters<AlertSink['alert']>[0];

/** Alerts as JSON lines on a stream (stderr by default), and kept for inspection. */
export class LogAlertSink implements AlertSink {
  readonly alerts: Alert[] = [];
  constructor(private readonly write: (line: string) => void = (line) => process.stderr.write(line)) {}

  alert(alert: Alert): void {
    this.alerts.push(alert);
    this.write(
      JSON.stringify({
        level: alert.severity === 'critical' ? 'error' : 'warn',
        component: 'alerts',
        ...alert,
      }) + '\n',
    );
  }
}
