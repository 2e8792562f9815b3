export { pushPolicy, type PolicyPushResult } from './push-policy';
export { swapPolicy, upgradeTenant, type SwapChanges } from './policy-swap';
