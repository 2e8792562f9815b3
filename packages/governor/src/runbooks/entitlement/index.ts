export { Provisioning } from './provision';
export { adopt, resume, resumeTenant } from './resume';
export { needsOwner, type Entitlement, type ProvisionResult } from './entitlement';
