export { Scaling } from './scaling';
export { flowControl } from './flow-control';
