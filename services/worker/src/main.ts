#!/usr/bin/env node
import pino from 'pino';
import { alertOnUnhandledRejections, logAlerts } from './alerts';
import { ConfigError, ENVIRONMENT_HELP, envWithFlags, governorConfigFromEnv } from '@governor/stores';
import { Worker } from './worker';

const HELP = `governor-worker: runs the tenant governors of this worker until SIGTERM.

Consumes provisioning, cancel and policy messages from governor.control and each tenant's
signals, runs the seven runbooks, and writes a signed, hash-chained receipt for every step.
On SIGTERM it stops pulling, lets running actions finish, flushes receipts, and exits 0.

Options:
  --signals pubsub|kafka      the same as GOVERNOR_SIGNALS (below), which it overrides

${ENVIRONMENT_HELP}`;

async function main(): Promise<number> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  let config;
  try {
    config = governorConfigFromEnv(envWithFlags(process.argv.slice(2), process.env));
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`governor-worker: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const log = pino({ level: config.logLevel, base: { worker_id: config.workerId } });
  alertOnUnhandledRejections(logAlerts(log));
  // Installed before start-up, so a SIGTERM during start-up still stops the worker cleanly;
  // kept installed, so a repeated SIGTERM while draining does not cut the drain short.
  const stopSignal = new Promise<string>((resolve) => {
    process.on('SIGTERM', () => resolve('SIGTERM'));
    process.on('SIGINT', () => resolve('SIGINT'));
  });
  const worker = await Worker.start(config, log);
  log.info({ signal: await stopSignal }, 'signal received');
  try {
    await worker.stop();
  } catch (e) {
    log.error({ err: e }, 'stop failed');
    return 1;
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`governor-worker: ${(e as Error).message ?? String(e)}\n`);
    process.exit(1);
  },
);
