export { Worker } from './worker';
export { alertOnUnhandledRejections, logAlerts } from './alerts';
export { workerConfigFromEnv, ENVIRONMENT_HELP, ConfigError, parseEnv } from './config';
export type { WorkerConfig } from './config';
export { openStores } from './stores';
export type { Stores } from './stores';
