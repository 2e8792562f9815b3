import type { ActionHandler } from '../../../ports';

/** The built-in `noop` handler: succeeds at once; rollback has nothing to undo. */
export const noopHandler: ActionHandler = {
  run: () => Promise.resolve(),
  rollback: () => Promise.resolve(),
};
