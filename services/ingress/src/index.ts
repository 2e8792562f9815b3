export { buildIngress } from './app';
export type { IngressOptions } from './app';
export { IngressError } from './errors';
export type { IngressErrorCode, ErrorEnvelope } from './errors';
export type { GovernorGateway, TenantView, SignalRequest, Readiness, PlanChangeAnswer } from './gateway';
export { RuntimeGateway } from './runtime-gateway';
export { parseTokens, authorize } from './auth';
export type { Role } from './auth';
export { parseSecrets, signWebhook, webhookHeaders, verifyWebhook, TOLERANCE_S } from './webhook-signature';
export { loadEdgeSecrets, tokenFor, SecretsError, DEV_SECRETS_FILE } from './edge-secrets';
export type { EdgeSecrets } from './edge-secrets';
export { IngressMetrics } from './metrics';
export { startGovernor } from './start';
export type { StartOptions, Started } from './start';
// Start-up configuration errors (one-line, exit 2), as the worker raises them.
export { ConfigError, alertOnUnhandledRejections, logAlerts } from '@governor/worker';
export { ControlGateway } from './control-gateway';
export type { ControlGatewayStores, ControlGatewayOptions } from './control-gateway';
