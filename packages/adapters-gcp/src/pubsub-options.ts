import type { PubSub } from '@google-cloud/pubsub';
import { invalidArgument } from './pubsub-errors';

/** One structured log line, with pino-compatible field names. */
export interface PubSubLogLine {
  readonly level: 'info' | 'warn' | 'error';
  readonly msg: string;
  readonly [field: string]: unknown;
}
export type PubSubLog = (line: PubSubLogLine) => void;

export interface PubSubAdapterOptions {
  readonly pubsub: PubSub;
  /** How long after a nack the message comes back. Default 1,000 ms. */
  readonly redeliveryDelayMs?: number;
  /**
   * The ack deadline subscriptions are created with (10-600 s, default 10): how soon a message
   * held by a worker that died comes back. The client extends it while a message is handled.
   */
  readonly ackDeadlineSeconds?: number;
  /** Where the adapter's log lines go; JSON lines on stderr by default. */
  readonly log?: PubSubLog;
}

export interface ResolvedOptions {
  readonly pubsub: PubSub;
  readonly redeliveryDelayMs: number;
  readonly ackDeadlineSeconds: number;
  readonly log: PubSubLog;
}

const stderrLog: PubSubLog = (line) =>
  process.stderr.write(JSON.stringify({ component: 'pubsub', ...line }) + '\n');

export function resolveOptions(options: PubSubAdapterOptions): ResolvedOptions {
  const redeliveryDelayMs = options.redeliveryDelayMs ?? 1_000;
  const ackDeadlineSeconds = options.ackDeadlineSeconds ?? 10;
  if (!Number.isFinite(redeliveryDelayMs) || redeliveryDelayMs < 0) {
    throw invalidArgument(`redeliveryDelayMs must be a finite number >= 0, got ${redeliveryDelayMs}`);
  }
  if (!Number.isInteger(ackDeadlineSeconds) || ackDeadlineSeconds < 10 || ackDeadlineSeconds > 600) {
    throw invalidArgument(
      `ackDeadlineSeconds must be an integer from 10 to 600 (Pub/Sub's range), got ${ackDeadlineSeconds}`,
    );
  }
  return { pubsub: options.pubsub, redeliveryDelayMs, ackDeadlineSeconds, log: options.log ?? stderrLog };
}

/**
 * Publisher batching: a signal waits at most this long for company before it is sent, so
 * latency stays low while a burst still goes out in few requests.
 */
export const PUBLISH_BATCHING = { maxMessages: 100, maxMilliseconds: 2 } as const;
