export { SafeMode, writers } from './safe-mode';
