import { ActionError, type ActionHandler } from '@governor/governor';

/**
 * The demo's stand-in for an external endpoint, chosen per signal by `params.mode`: 'slow'
 * answers only after it is aborted (so the action times out), 'fail' answers 500, anything
 * else succeeds after a few milliseconds. Rollbacks succeed.
 */
export const simulatedEndpoint: ActionHandler = {
  run: ({ params, signal }) =>
    new Promise<void>((resolve, reject) => {
      if (params.mode === 'slow') {
        signal.addEventListener('abort', () =>
          reject(new ActionError('ABORTED', 'aborted after the timeout')),
        );
        return;
      }
      if (params.mode === 'fail') return reject(new ActionError('HTTP_500', 'endpoint answered 500'));
      setTimeout(resolve, 2);
    }),
  rollback: () => new Promise<void>((resolve) => setTimeout(resolve, 2)),
};
