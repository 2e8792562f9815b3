export { SafeMode, writers } from './safe-mode';
export { HealthMonitor, type HealthTarget } from './health-monitor';
