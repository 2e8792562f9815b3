export {
  changePlan,
  changeTenantPlan,
  type PlanChange,
  type PlanChangeResult,
  type PlanPolicyLoader,
} from './change-plan';
