export { cancel, startDecommission, type Decommission } from './decommission';
