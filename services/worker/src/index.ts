export { Worker } from './worker';
export { workerConfigFromEnv, ENVIRONMENT_HELP, ConfigError } from './config';
export type { WorkerConfig } from './config';
export { openStores, openLocalStores, REPO_POLICIES } from './stores';
export type { Stores } from './stores';
export { loadSigningKey, KEY_FILE, KEYS_FILE } from './signing-key';
