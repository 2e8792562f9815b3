import { ActionError } from './action-error';
import type { Clock } from '../../ports';

/**
 * Runs an outbound call (a rollback) for at most `ms` of the injected clock: past that its
 * signal is aborted and it fails with ROLLBACK_TIMEOUT, so an endpoint that never answers
 * cannot hold a rollback, a reconcile or a start forever. `parent` aborts it earlier.
 */
export function withinMs(
  clock: Clock,
  ms: number,
  call: (signal: AbortSignal) => Promise<void>,
  parent?: AbortSignal,
): Promise<void> {
  const abort = new AbortController();
  const onParent = () => abort.abort(parent?.reason);
  parent?.addEventListener('abort', onParent, { once: true });
  let timer: unknown;
  const timedOut = new Promise<never>((_, reject) => {
    timer = clock.setTimeout(() => {
      abort.abort();
      reject(new ActionError('ROLLBACK_TIMEOUT', `no answer within ${ms} ms`));
    }, ms);
  });
  return Promise.race([call(abort.signal), timedOut]).finally(() => {
    clock.clearTimeout(timer);
    parent?.removeEventListener('abort', onParent);
  });
}
