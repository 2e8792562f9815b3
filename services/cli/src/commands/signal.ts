import { randomUUID } from 'node:crypto';
import { parse, positiveInt, required } from '../args';
import { CliError } from '../errors';
import { bearer, call, checkReceipt, edgeUrl, senderSecrets } from '../edge-client';
import { answerJson, checkText, refusalText, seqText } from '../edge-result';
import { detail, failure, outputOf, printJson, success } from '../output';
import { outcomeOf, type ReceiptBody } from '../signal-outcome';

const USAGE =
  'governor signal send --account-id A (--action KIND [--params JSON] | --scale N) [--no-wait | --wait-ms MS] [--url URL] [--data-dir DIR] [--json]';

export const signalHelp = `${USAGE}
  Submits a signal through the operator API (bearer token: GOVERNOR_API_TOKEN, else an operator
  or admin token of GOVERNOR_API_TOKENS or DIR/dev-secrets.json), then waits up to --wait-ms for
  the receipt that ends it (matched by correlation id), shows that it verifies, and prints one line:
    ✔ 202 signal 5f0c… → action_complete seq 3 (verified)
    ✖ 202 signal 5f0c… → action_refused not_permitted seq 4 (verified)
  --action KIND     an action signal (kinds are the tenant policy's actions, e.g. noop, http)
  --params JSON     the action's parameters (a JSON object)
  --scale N         a scale signal: request an in-flight limit of N
  --no-wait         print the answer (202 and signal_id) and stop
  --wait-ms MS      how long to wait for the receipt (default 10000)
  --url URL         default GOVERNOR_URL, else http://127.0.0.1:8080
  --data-dir DIR    where dev-secrets.json is (default GOVERNOR_DATA_DIR, else .governor)
  --json            print one JSON document instead: {ok, status, correlation_id, answer,
                    outcome ({operation, status, reason, receipt} or null), verification}
  Exit: 0 accepted and (when waiting) done: action_complete, governor_scaled; 1 refused by the
  API, or the action was refused, failed, timed out or rolled back (the reason is printed:
  not_permitted, quota_exhausted, the error code, …), or no receipt in time; 2 usage or
  connection error.`;

export async function signalCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === '--help' || sub === '-h') {
    process.stdout.write(signalHelp + '\n');
    return 0;
  }
  if (sub !== 'send') throw new CliError(`unknown signal command "${sub ?? ''}"\nusage: ${USAGE}`);
  const { values } = parse(
    rest,
    {
      'account-id': { type: 'string' },
      action: { type: 'string' },
      params: { type: 'string' },
      scale: { type: 'string' },
      'no-wait': { type: 'boolean' },
      'wait-ms': { type: 'string' },
      url: { type: 'string' },
      'data-dir': { type: 'string' },
      json: { type: 'boolean' },
    },
    USAGE,
  );
  if (values.help) {
    process.stdout.write(signalHelp + '\n');
    return 0;
  }
  const accountId = required(values['account-id'], '--account-id A', USAGE);
  if ((values.action === undefined) === (values.scale === undefined))
    throw new CliError(`give exactly one of --action KIND or --scale N\nusage: ${USAGE}`);
  let params: unknown;
  if (typeof values.params === 'string') {
    try {
      params = JSON.parse(values.params);
    } catch (e) {
      throw new CliError(`--params is not JSON: ${(e as Error).message}`);
    }
    if (typeof params !== 'object' || params === null || Array.isArray(params))
      throw new CliError('--params must be a JSON object');
  }
  const body =
    typeof values.action === 'string'
      ? { type: 'action', action_kind: values.action, ...(params !== undefined ? { params } : {}) }
      : { type: 'scale', concurrency: positiveInt(values.scale as string, '--scale') };
  const waitMs = typeof values['wait-ms'] === 'string' ? positiveInt(values['wait-ms'], '--wait-ms') : 10_000;
  const url = edgeUrl(values.url);
  const secrets = await senderSecrets(values['data-dir']);
  const token = await bearer(secrets, 'operator');
  const correlationId = `cli-${randomUUID()}`;
  const answer = await call(url, 'POST', `/v1/tenants/${encodeURIComponent(accountId)}/signals`, {
    body: JSON.stringify(body),
    headers: { authorization: `Bearer ${token}`, 'x-correlation-id': correlationId },
  });
  const out = outputOf(values.json);
  const signalId = typeof answer.body.signal_id === 'string' ? answer.body.signal_id : '?';
  if (answer.status >= 400 || values['no-wait'] === true) {
    const ok = answer.status < 400;
    if (out.json) printJson(answerJson(answer, ok, { outcome: null, verification: null }));
    else if (ok) success(out, `${answer.status} signal ${signalId} accepted (not waiting for its receipt)`);
    else failure(out, refusalText(answer, accountId));
    return ok ? 0 : 1;
  }

  const found = await receiptOf(url, await bearer(secrets, 'auditor'), accountId, correlationId, waitMs);
  if (found === null) {
    const why = `no receipt within ${waitMs} ms (the signal is queued; see /v1/tenants/${accountId}/receipts)`;
    if (out.json) printJson(answerJson(answer, false, { outcome: null, verification: null, error: why }));
    else failure(out, `${answer.status} signal ${signalId} → ${why}`);
    return 1;
  }
  const outcome = outcomeOf(found);
  const check = await checkReceipt(url, await bearer(secrets, 'auditor'), accountId, found.receipt_id);
  const ok = outcome.ok && check.ok;
  if (out.json) printJson(answerJson(answer, ok, { outcome, verification: check }));
  else {
    (ok ? success : failure)(
      out,
      `${answer.status} signal ${signalId} → ${outcome.operation}` +
        `${outcome.reason && outcome.reason !== outcome.operation ? ` ${outcome.reason}` : ''}` +
        `${seqText(check, found.seq)}${checkText(check)}`,
    );
    if (outcome.message) detail(out, outcome.message);
  }
  return ok ? 0 : 1;
}

/** The receipt that ends the signal sent with `correlationId` (not in_progress), or null in time. */
async function receiptOf(
  url: string,
  token: string,
  accountId: string,
  correlationId: string,
  waitMs: number,
): Promise<ReceiptBody | null> {
  const deadline = Date.now() + waitMs;
  let afterSeq = -1;
  while (Date.now() < deadline) {
    const page = await call(
      url,
      'GET',
      `/v1/tenants/${encodeURIComponent(accountId)}/receipts?after_seq=${afterSeq}&limit=1000`,
      { headers: { authorization: `Bearer ${token}` } },
    );
    for (const r of (page.body.receipts ?? []) as { body: ReceiptBody }[]) {
      afterSeq = r.body.seq;
      if (r.body.correlation_id === correlationId && r.body.status !== 'in_progress') return r.body;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return null;
}
