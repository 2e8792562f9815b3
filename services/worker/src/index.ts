export { Worker } from './worker';
export { alertOnUnhandledRejections, logAlerts } from './alerts';
