import type { Value } from './args';
import { dataDirOf } from './backend';
import type { EdgeSecrets } from '@governor/ingress';
import { CliError } from './errors';

/**
 * The ingress package, loaded on first use by the commands that sign or authenticate: its index
 * loads fastify, the worker and the cloud clients (about 0.9 s), which no other command needs.
 */
const ingress = () => import('@governor/ingress');

export const DEFAULT_URL = 'http://127.0.0.1:8080';

/** Where the governor listens: --url, else GOVERNOR_URL, else where `governor start` listens by default. */
export function edgeUrl(flag: unknown): string {
  const url = typeof flag === 'string' && flag !== '' ? flag : (process.env.GOVERNOR_URL ?? DEFAULT_URL);
  if (!/^https?:\/\/[^/]+/.test(url)) throw new CliError(`--url must be http(s)://HOST[:PORT], got "${url}"`);
  return url.replace(/\/+$/, '');
}

/** The secrets a sender signs with: the environment, else the data dir's dev-secrets.json (never created here). */
export async function senderSecrets(dataDir: Value): Promise<EdgeSecrets> {
  const dir = dataDirOf(dataDir);
  const { loadEdgeSecrets, SecretsError } = await ingress();
  try {
    return await loadEdgeSecrets(process.env, dir, { create: false });
  } catch (e) {
    if (e instanceof SecretsError)
      throw new CliError(
        `${e.message}; or run \`governor start\` first, which makes ${dir}/dev-secrets.json`,
      );
    throw new CliError(`bad secrets configuration: ${(e as Error).message}`);
  }
}

/** A bearer token for `role`: GOVERNOR_API_TOKEN, else the first matching one configured. */
export async function bearer(secrets: EdgeSecrets, role: 'operator' | 'auditor'): Promise<string> {
  const token = process.env.GOVERNOR_API_TOKEN ?? (await ingress()).tokenFor(secrets, role);
  if (!token) throw new CliError(`no ${role} or admin token: set GOVERNOR_API_TOKEN or GOVERNOR_API_TOKENS`);
  return token;
}

export interface EdgeAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly correlationId: string | null;
  /** A redelivered webhook-id: this is the first delivery's answer, and nothing new happened. */
  readonly replayed: boolean;
}

/** One HTTP call to the governor; a connection failure is a one-line CLI error. */
export async function call(
  url: string,
  method: 'GET' | 'POST',
  path: string,
  options: { body?: string; headers?: Record<string, string> } = {},
): Promise<EdgeAnswer> {
  let res: Response;
  try {
    res = await fetch(url + path, {
      method,
      headers: {
        ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...options.headers,
      },
      ...(options.body !== undefined ? { body: options.body } : {}),
      signal: AbortSignal.timeout(60_000),
    });
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message;
    throw new CliError(
      `cannot reach ${url} (${cause}): is \`governor start\` running there? (--url or GOVERNOR_URL)`,
    );
  }
  const text = await res.text();
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { text };
  }
  return {
    status: res.status,
    body,
    correlationId: res.headers.get('x-correlation-id'),
    replayed: res.headers.get('webhook-replayed') === 'true',
  };
}

/** POSTs `body` signed the Standard Webhooks way with the first configured secret. */
export async function postSigned(
  url: string,
  path: string,
  secret: string,
  body: string,
  id: string,
): Promise<EdgeAnswer> {
  const { parseSecrets, webhookHeaders } = await ingress();
  const key = parseSecrets([secret], 'secret')[0] as Buffer;
  return call(url, 'POST', path, {
    body,
    headers: webhookHeaders(key, id, Math.round(Date.now() / 1000), body),
  });
}

/** Prints an answer: the JSON on stdout; exit 0 for 2xx, 1 for a refusal. */
export function printAnswer(answer: EdgeAnswer): number {
  process.stdout.write(JSON.stringify(answer.body, null, 2) + '\n');
  if (answer.status >= 400) {
    const text = (v: unknown) => (typeof v === 'string' ? v : '');
    process.stderr.write(
      `governor: HTTP ${answer.status} ${text(answer.body.code)}: ${text(answer.body.message)}\n`,
    );
    return 1;
  }
  return 0;
}

/** What fetching a receipt back through the auditor API showed. */
export interface ReceiptCheck {
  readonly receipt_id: string;
  /** Signature and chain from genesis check out, and the latest checkpoint includes it if it covers it. */
  readonly ok: boolean;
  readonly operation: string | null;
  readonly seq: number | null;
  readonly issues: readonly string[];
  /** true: in the latest checkpoint; false: a checkpoint covers it but leaves it out; null: none covers it yet. */
  readonly included: boolean | null;
  /** The inclusion in words (checkpoint size, or why there is none). */
  readonly inclusion: string;
}

/**
 * Fetches a receipt back through the auditor API and says whether it verifies (signature, chain
 * through it, and inclusion in the latest checkpoint once one covers it). Prints nothing.
 */
export async function checkReceipt(
  url: string,
  token: string,
  accountId: string,
  receiptId: string,
): Promise<ReceiptCheck> {
  const answer = await call(
    url,
    'GET',
    `/v1/tenants/${encodeURIComponent(accountId)}/receipts/${encodeURIComponent(receiptId)}`,
    { headers: { authorization: `Bearer ${token}` } },
  );
  const verification = answer.body.verification as { ok?: boolean; issues?: string[] } | undefined;
  const receipt = answer.body.receipt as { operation?: string; seq?: number } | undefined;
  if (answer.status !== 200 || !verification)
    return {
      receipt_id: receiptId,
      ok: false,
      operation: null,
      seq: null,
      issues: [`could not fetch the receipt (HTTP ${answer.status})`],
      included: null,
      inclusion: 'unknown',
    };
  const proof = answer.body.inclusion_proof as { verified?: boolean; tree_size?: number } | null;
  const included = proof ? proof.verified === true : null;
  return {
    receipt_id: receiptId,
    ok: verification.ok === true && included !== false,
    operation: receipt?.operation ?? null,
    seq: receipt?.seq ?? null,
    issues: [
      ...(verification.issues ?? []),
      ...(included === false ? ['not included in the latest checkpoint'] : []),
    ],
    included,
    inclusion: proof
      ? proof.verified
        ? `included in the checkpoint of size ${proof.tree_size}`
        : 'NOT included in the latest checkpoint'
      : typeof answer.body.inclusion_note === 'string'
        ? answer.body.inclusion_note
        : 'no checkpoint yet',
  };
}
