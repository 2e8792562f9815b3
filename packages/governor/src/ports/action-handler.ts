/** What an action handler is given. */
export interface ActionRequest {
  readonly action_id: string;
  readonly account_id: string;
  readonly kind: string;
  readonly params: Readonly<Record<string, unknown>>;
  /** Idempotency key for the external call, stable across retries and rollbacks. */
  readonly idempotency_key: string;
  /** Aborted when the action times out, so the handler can stop early. */
  readonly signal: AbortSignal;
  /** From the policy's action: where an `http` handler calls, and where it calls to undo. */
  readonly endpoint?: string;
  readonly rollback_endpoint?: string;
}

/** Runs one kind of action (built in: `noop`, `http`). Rollback undoes what `run` did. */
export interface ActionHandler {
  run(request: ActionRequest): Promise<void>;
  rollback(request: ActionRequest): Promise<void>;
}
