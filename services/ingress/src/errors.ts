/** Every code an HTTP answer of the ingress can carry in its error envelope. */
export type IngressErrorCode =
  | 'BAD_REQUEST'
  | 'INVALID_JSON'
  | 'INVALID_BODY'
  | 'PAYLOAD_TOO_LARGE'
  | 'REQUEST_TIMEOUT'
  | 'HEADERS_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'MISSING_SIGNATURE'
  | 'BAD_SIGNATURE'
  | 'STALE_TIMESTAMP'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'ENTITLEMENT_MISMATCH'
  | 'WEBHOOK_ID_REUSED'
  | 'DRAINING'
  | 'DECOMMISSIONED'
  | 'QUEUE_FULL'
  | 'UNAVAILABLE'
  | 'PROVISIONING_FAILED'
  | 'POLICY_INCOMPATIBLE'
  | 'POLICY_INVALID'
  | 'POLICY_VERSION_EXISTS'
  | 'INTERNAL';

/** The one error envelope every HTTP edge answers with (DESIGN.md section 6). */
export interface ErrorEnvelope {
  readonly code: IngressErrorCode;
  readonly message: string;
  readonly correlation_id: string;
  readonly details: Record<string, unknown>;
}

/** An error the ingress answers with its status and envelope; `retryAfterS` sets Retry-After. */
export class IngressError extends Error {
  override readonly name = 'IngressError';
  constructor(
    readonly status: number,
    readonly code: IngressErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
    readonly retryAfterS?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
