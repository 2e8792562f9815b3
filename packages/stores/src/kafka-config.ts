import { z } from 'zod';
import { ConfigError } from './env';

/** Where the local Kafka broker listens (infra/local/backends.sh up kafka). */
export const DEFAULT_KAFKA_BROKERS = ['127.0.0.1:9092'] as const;

export interface KafkaConfig {
  /** Bootstrap brokers, `host:port` (KAFKA_BROKERS, comma-separated). */
  readonly brokers: readonly string[];
  /** Prefix of every topic and consumer group name, for a cluster shared by deployments. */
  readonly namespace?: string;
}

const KafkaBrokers = z
  .string()
  .transform((v) => v.split(',').map((b) => b.trim()))
  .pipe(
    z
      .array(
        z
          .string()
          .regex(/^[A-Za-z0-9.-]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/, 'expected host:port[,host:port...]'),
      )
      .min(1),
  );

/** KAFKA_BROKERS: comma-separated host:port, unset or empty for the local broker. */
export function kafkaBrokersFromEnv(env: NodeJS.ProcessEnv): string[] {
  const value = env.KAFKA_BROKERS || undefined;
  const brokers = KafkaBrokers.safeParse(value ?? DEFAULT_KAFKA_BROKERS.join(','));
  if (!brokers.success)
    throw new ConfigError(
      `KAFKA_BROKERS: ${brokers.error.issues[0]?.message ?? 'invalid'}, got '${value ?? ''}'`,
    );
  return brokers.data;
}
