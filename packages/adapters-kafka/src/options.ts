import { systemClock, type Clock } from '@governor/governor';
import { logLevel, type LogEntry, type logCreator } from 'kafkajs';
import { invalidArgument } from './errors';
import { checkNamespace } from './names';

/** One structured log line, with pino-compatible field names (the same shape as the Pub/Sub adapter's). */
export interface KafkaLogLine {
  readonly level: 'info' | 'warn' | 'error';
  readonly msg: string;
  readonly [field: string]: unknown;
}
export type KafkaLog = (line: KafkaLogLine) => void;

/** Consumer-group timing. Kafka's defaults (30 s session, 60 s rebalance) make a dead member linger. */
export interface KafkaConsumerTiming {
  /** How long the coordinator waits for a heartbeat before it evicts a member. Default 10,000 ms (the broker allows 6,000-300,000). */
  readonly sessionTimeoutMs?: number;
  /** How often a member heartbeats; well under the session timeout. Default 1,000 ms. */
  readonly heartbeatIntervalMs?: number;
  /** How long a rebalance waits for members to rejoin. Default 10,000 ms. */
  readonly rebalanceTimeoutMs?: number;
  /**
   * The fetch long-poll bound. New records end a poll at once, so this is not the delivery
   * latency; it bounds how late a redelivery (seek) or a resume after flow control takes
   * effect, at the cost of one idle fetch per interval per subscription. Default 500 ms.
   */
  readonly maxWaitTimeMs?: number;
}

export interface KafkaBusOptions {
  /** Bootstrap brokers, `host:port`. */
  readonly brokers: readonly string[];
  /** The kafkajs client id the broker sees. Default `governor`. */
  readonly clientId?: string;
  /**
   * Prefix of every topic and group name (`{namespace}.tenants.{account_id}.signals`), for a
   * cluster shared by several deployments or test runs. Default: none, the design's names.
   */
  readonly namespace?: string;
  /** How long after a nack the signal comes back. Default 1,000 ms. */
  readonly redeliveryDelayMs?: number;
  /** Replication factor of created topics. Default -1: the broker's `default.replication.factor`. */
  readonly replicationFactor?: number;
  readonly consumer?: KafkaConsumerTiming;
  /** Where the adapter's log lines go; JSON lines on stderr by default. */
  readonly log?: KafkaLog;
  /**
   * Route kafkajs's own log lines at this level and above through `log` (component `kafkajs`).
   * Default: off. kafkajs logs every protocol error response at error level, including the
   * expected UNKNOWN_TOPIC_OR_PARTITION of `topicExists`, so this is for debugging.
   */
  readonly kafkaLogLevel?: 'error' | 'warn' | 'info';
  /** TCP connect timeout. Default 3,000 ms. */
  readonly connectionTimeoutMs?: number;
  /** What the consumers' redelivery, commit retry and rejoin waits run on. Default: the system clock. */
  readonly clock?: Clock;
}

export interface ResolvedOptions {
  readonly brokers: string[];
  readonly clientId: string;
  readonly namespace: string | undefined;
  readonly redeliveryDelayMs: number;
  readonly replicationFactor: number;
  readonly consumer: Required<KafkaConsumerTiming>;
  readonly log: KafkaLog;
  readonly kafkaLogLevel: logLevel;
  readonly connectionTimeoutMs: number;
  readonly clock: Clock;
}

const stderrLog: KafkaLog = (line) =>
  process.stderr.write(JSON.stringify({ component: 'kafka', ...line }) + '\n');

function positiveInt(name: string, value: number, min = 1): number {
  if (!Number.isInteger(value) || value < min) {
    throw invalidArgument(`${name} must be an integer >= ${min}, got ${value}`);
  }
  return value;
}

export function resolveOptions(options: KafkaBusOptions): ResolvedOptions {
  if (options.brokers.length === 0 || options.brokers.some((b) => !/^[^\s:]+:\d+$/.test(b))) {
    throw invalidArgument(
      `brokers must be a non-empty list of host:port, got ${JSON.stringify(options.brokers)}`,
    );
  }
  checkNamespace(options.namespace);
  const redeliveryDelayMs = options.redeliveryDelayMs ?? 1_000;
  if (!Number.isFinite(redeliveryDelayMs) || redeliveryDelayMs < 0) {
    throw invalidArgument(`redeliveryDelayMs must be a finite number >= 0, got ${redeliveryDelayMs}`);
  }
  const replicationFactor = options.replicationFactor ?? -1;
  if (replicationFactor !== -1) positiveInt('replicationFactor', replicationFactor);
  const timing = options.consumer ?? {};
  const consumer = {
    sessionTimeoutMs: positiveInt('consumer.sessionTimeoutMs', timing.sessionTimeoutMs ?? 10_000),
    heartbeatIntervalMs: positiveInt('consumer.heartbeatIntervalMs', timing.heartbeatIntervalMs ?? 1_000),
    rebalanceTimeoutMs: positiveInt('consumer.rebalanceTimeoutMs', timing.rebalanceTimeoutMs ?? 10_000),
    maxWaitTimeMs: positiveInt('consumer.maxWaitTimeMs', timing.maxWaitTimeMs ?? 500),
  };
  if (consumer.heartbeatIntervalMs >= consumer.sessionTimeoutMs) {
    throw invalidArgument(
      `consumer.heartbeatIntervalMs (${consumer.heartbeatIntervalMs}) must be below consumer.sessionTimeoutMs (${consumer.sessionTimeoutMs})`,
    );
  }
  return {
    brokers: [...options.brokers],
    clientId: options.clientId ?? 'governor',
    namespace: options.namespace,
    redeliveryDelayMs,
    replicationFactor,
    consumer,
    log: options.log ?? stderrLog,
    kafkaLogLevel: toKafkaLevel(options.kafkaLogLevel),
    connectionTimeoutMs: positiveInt('connectionTimeoutMs', options.connectionTimeoutMs ?? 3_000),
    clock: options.clock ?? systemClock,
  };
}

function toKafkaLevel(level: KafkaBusOptions['kafkaLogLevel']): logLevel {
  switch (level) {
    case 'error':
      return logLevel.ERROR;
    case 'warn':
      return logLevel.WARN;
    case 'info':
      return logLevel.INFO;
    default:
      return logLevel.NOTHING;
  }
}

/** Routes kafkajs's log entries through the adapter's log function. */
export function kafkaLogCreator(log: KafkaLog): logCreator {
  return () =>
    ({ namespace, level, log: entry }: LogEntry) => {
      // kafkajs's own timestamp is dropped: the log function stamps its lines.
      const fields: Record<string, unknown> = { ...entry };
      delete fields.message;
      delete fields.timestamp;
      log({
        level: level === logLevel.ERROR ? 'error' : level === logLevel.WARN ? 'warn' : 'info',
        msg: entry.message,
        component: 'kafkajs',
        namespace,
        ...fields,
      });
    };
}
