// The composition root: configuration is read from the environment here, validated once, and
// the stores, signing key and policies it names are opened here. The Google Cloud and Kafka
// adapters are loaded only when a configuration needs them.
export { ConfigError, parseEnv } from './env';
export {
  governorConfigFromEnv,
  envWithFlags,
  defaultWorkerId,
  dataDirFromEnv,
  ENVIRONMENT_HELP,
} from './config';
export type { GovernorConfig } from './config';
export { gcpConfigFromEnv, isEmulated } from './gcp-config';
export { kafkaBrokersFromEnv, DEFAULT_KAFKA_BROKERS } from './kafka-config';
export type { KafkaConfig } from './kafka-config';
export { edgeConfigFromEnv } from './edge-config';
export type { EdgeConfig } from './edge-config';
export { openStores, openEmbeddedStores } from './open-stores';
export type { Stores } from './open-stores';
export { openGcpStores, openKafkaBus, seedRepoPolicies } from './lazy-adapters';
export { loadSigner, loadPublicKeys, publicKeysFile } from './keys';
export { proveInclusion } from './inclusion-proof';
export type { InclusionProof } from './inclusion-proof';
export { REPO_POLICIES } from '@governor/adapters-local';
