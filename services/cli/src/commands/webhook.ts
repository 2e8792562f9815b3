import { randomUUID } from 'node:crypto';
import { parse, required } from '../args';
import { CliError } from '../errors';
import { bearer, edgeUrl, postSigned, printAnswer, reportVerified, senderSecrets } from '../edge-client';

const TYPES = ['entitlement.created', 'entitlement.plan_changed', 'entitlement.cancelled'] as const;
const USAGE =
  'governor webhook send --type TYPE --account-id A [--plan P] [--sku S] [--region R] [--entitlement-id E] [--reason TEXT] [--url URL] [--data-dir DIR]';

export const webhookHelp = `${USAGE}
  Sends a marketplace webhook signed like the marketplace does (Standard Webhooks, with the first
  secret of GOVERNOR_WEBHOOK_SECRETS, else DIR/dev-secrets.json), prints the answer, and fetches
  the receipt it names back through the auditor API to show it verifies.
  --type            ${TYPES.join(' | ')}
  --plan P          plan_type (default starter); --sku S (default governor-P)
  --region R        default us-central1; --entitlement-id E (default ent-A)
  --reason TEXT     cancellation_reason (entitlement.cancelled)
  --id ID           webhook-id (default a fresh one; repeat one to see a redelivery's answer)
  --url URL         default GOVERNOR_URL, else http://127.0.0.1:8080
  --no-verify       do not fetch and verify the receipt
  Exit: 0 accepted, 1 refused (the error envelope is printed), 2 usage or connection error.`;

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
      url: { type: 'string' },
      'data-dir': { type: 'string' },
      'no-verify': { type: 'boolean' },
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
    occurred_at: new Date().toISOString(),
  });
  const url = edgeUrl(values.url);
  const secrets = await senderSecrets(values['data-dir']);
  const secret = secrets.webhookSecrets[0];
  if (!secret) throw new CliError('no webhook secret configured (GOVERNOR_WEBHOOK_SECRETS)');
  const id = (values.id as string | undefined) ?? `msg_${randomUUID()}`;
  const answer = await postSigned(url, '/v1/webhooks/marketplace', secret, body, id);
  const code = printAnswer(answer);
  const receiptId =
    answer.body.receipt_id ?? (answer.body.details as { receipt_id?: unknown } | undefined)?.receipt_id;
  if (values['no-verify'] !== true && typeof receiptId === 'string') {
    const ok = await reportVerified(url, bearer(secrets, 'auditor'), accountId, receiptId);
    if (!ok) return 1;
  }
  return code;
}
