import { randomUUID } from 'node:crypto';
import { parse, required } from '../args';
import { CliError } from '../errors';
import { bearer, checkReceipt, edgeUrl, postSigned, senderSecrets } from '../edge-client';
import { answerJson, checkText, refusalText, seqText } from '../edge-result';
import { failure, outputOf, printJson, success } from '../output';

const TYPES = ['entitlement.created', 'entitlement.plan_changed', 'entitlement.cancelled'] as const;
const USAGE =
  'governor webhook send --type TYPE --account-id A [--plan P] [--sku S] [--region R] [--entitlement-id E] [--reason TEXT] [--id ID] [--occurred-at TIME] [--no-verify] [--url URL] [--data-dir DIR] [--json]';

export const webhookHelp = `${USAGE}
  Sends a marketplace webhook signed like the marketplace does (Standard Webhooks, with the first
  secret of GOVERNOR_WEBHOOK_SECRETS, else DIR/dev-secrets.json), fetches the receipt the answer
  names back through the auditor API to show it verifies, and prints one line:
    ✔ 200 entitlement_active acme seq 0 (verified)
    ✖ 422 PROVISIONING_FAILED acme: provisioning failed: … (entitlement_failed seq 0 (verified))
  --type            ${TYPES.join(' | ')}
  --plan P          plan_type (default starter); --sku S (default governor-P)
  --region R        default us-central1; --entitlement-id E (default ent-A)
  --reason TEXT     cancellation_reason (entitlement.cancelled)
  --id ID           webhook-id (default a fresh one); send the same id and body again (the same
                    flags and --occurred-at) to see a redelivery get the first answer
  --occurred-at TIME  the event's occurred_at (ISO 8601; default now)
  --url URL         default GOVERNOR_URL, else http://127.0.0.1:8080
  --no-verify       do not fetch and verify the receipt
  --data-dir DIR    where dev-secrets.json is (default GOVERNOR_DATA_DIR, else .governor)
  --json            print one JSON document instead: {ok, status, correlation_id, replayed,
                    answer (the body as the governor sent it), verification (null with --no-verify)}
  Exit: 0 accepted (and verified), 1 refused or not verified, 2 usage or connection error.`;

export async function webhookCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === '--help' || sub === '-h') {
    process.stdout.write(webhookHelp + '\n');
    return 0;
  }
  if (sub !== 'send') throw new CliError(`unknown webhook command "${sub ?? ''}"\nusage: ${USAGE}`);
  const { values } = parse(
    rest,
    {
      type: { type: 'string' },
      'account-id': { type: 'string' },
      plan: { type: 'string' },
      sku: { type: 'string' },
      region: { type: 'string' },
      'entitlement-id': { type: 'string' },
      reason: { type: 'string' },
      id: { type: 'string' },
      'occurred-at': { type: 'string' },
      url: { type: 'string' },
      'data-dir': { type: 'string' },
      'no-verify': { type: 'boolean' },
      json: { type: 'boolean' },
    },
    USAGE,
  );
  if (values.help) {
    process.stdout.write(webhookHelp + '\n');
    return 0;
  }
  const type = required(values.type, '--type TYPE', USAGE);
  if (!(TYPES as readonly string[]).includes(type))
    throw new CliError(`--type must be one of ${TYPES.join(', ')}`);
  const accountId = required(values['account-id'], '--account-id A', USAGE);
  const plan = (values.plan as string | undefined) ?? 'starter';
  const body = JSON.stringify({
    type,
    entitlement_id: (values['entitlement-id'] as string | undefined) ?? `ent-${accountId}`,
    account_id: accountId,
    sku_id: (values.sku as string | undefined) ?? `governor-${plan}`,
    plan_type: plan,
    region: (values.region as string | undefined) ?? 'us-central1',
    ...(typeof values.reason === 'string' ? { cancellation_reason: values.reason } : {}),
    occurred_at: occurredAt(values['occurred-at']),
  });
  const url = edgeUrl(values.url);
  const secrets = await senderSecrets(values['data-dir']);
  const secret = secrets.webhookSecrets[0];
  if (!secret) throw new CliError('no webhook secret configured (GOVERNOR_WEBHOOK_SECRETS)');
  const id = (values.id as string | undefined) ?? `msg_${randomUUID()}`;
  const answer = await postSigned(url, '/v1/webhooks/marketplace', secret, body, id);
  const details = answer.body.details as { receipt_id?: unknown; operation?: unknown } | undefined;
  const receiptId = answer.body.receipt_id ?? details?.receipt_id;
  const check =
    values['no-verify'] !== true && typeof receiptId === 'string'
      ? await checkReceipt(url, await bearer(secrets, 'auditor'), accountId, receiptId)
      : null;
  const accepted = answer.status < 400;
  const ok = accepted && check?.ok !== false;
  const out = outputOf(values.json);
  if (out.json) printJson(answerJson(answer, ok, { replayed: answer.replayed, verification: check }));
  else if (accepted) {
    const receipt = answer.body.receipt as { seq?: unknown } | null | undefined;
    const operation = typeof answer.body.operation === 'string' ? answer.body.operation : 'accepted';
    (ok ? success : failure)(
      out,
      `${answer.status} ${operation} ${accountId}${seqText(check, receipt?.seq)}` +
        `${answer.replayed ? ' (redelivery: the first answer)' : ''}${checkText(check)}`,
    );
  } else {
    const operation = typeof details?.operation === 'string' ? details.operation : 'receipt';
    failure(
      out,
      refusalText(answer, accountId) +
        (check ? ` (${operation}${seqText(check, undefined)}${checkText(check)})` : ''),
    );
  }
  return ok ? 0 : 1;
}

function occurredAt(flag: unknown): string {
  if (typeof flag !== 'string') return new Date().toISOString();
  if (
    !/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$/.test(flag) ||
    Number.isNaN(Date.parse(flag))
  )
    throw new CliError(
      `--occurred-at must be an ISO 8601 time with a zone (2026-01-02T03:04:05Z), got "${flag}"`,
    );
  return flag;
}
