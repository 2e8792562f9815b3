import { randomUUID } from 'node:crypto';
import { parse, positiveInt, required } from '../args';
import { CliError } from '../errors';
import { bearer, call, edgeUrl, printAnswer, reportVerified, senderSecrets } from '../edge-client';

const USAGE =
  'governor signal send --account-id A (--action KIND [--params JSON] | --scale N) [--no-wait] [--url URL] [--data-dir DIR]';

export const signalHelp = `${USAGE}
  Submits a signal through the operator API (bearer token: GOVERNOR_API_TOKEN, else an operator
  or admin token of GOVERNOR_API_TOKENS or DIR/dev-secrets.json), then waits up to --wait-ms for
  the receipt that ends it (matched by correlation id) and shows that it verifies.
  --action KIND     an action signal (kinds are the tenant policy's actions, e.g. noop, http)
  --params JSON     the action's parameters (a JSON object)
  --scale N         a scale signal: request an in-flight limit of N
  --no-wait         print the answer (202 and signal_id) and stop
  --wait-ms MS      how long to wait for the receipt (default 10000)
  Exit: 0 accepted (and, when waiting, receipted), 1 refused or no receipt in time, 2 usage or connection error.`;

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
  const token = bearer(secrets, 'operator');
  const correlationId = `cli-${randomUUID()}`;
  const answer = await call(url, 'POST', `/v1/tenants/${encodeURIComponent(accountId)}/signals`, {
    body: JSON.stringify(body),
    headers: { authorization: `Bearer ${token}`, 'x-correlation-id': correlationId },
  });
  const code = printAnswer(answer);
  if (code !== 0 || values['no-wait'] === true) return code;

  // The receipt that ends this signal carries its correlation id.
  const deadline = Date.now() + waitMs;
  const auditor = bearer(secrets, 'auditor');
  let afterSeq = -1;
  while (Date.now() < deadline) {
    const page = await call(
      url,
      'GET',
      `/v1/tenants/${accountId}/receipts?after_seq=${afterSeq}&limit=1000`,
      {
        headers: { authorization: `Bearer ${auditor}` },
      },
    );
    const receipts = (page.body.receipts ?? []) as {
      body: { receipt_id: string; seq: number; operation: string; correlation_id?: string; status: string };
    }[];
    for (const r of receipts) {
      afterSeq = r.body.seq;
      if (r.body.correlation_id === correlationId && r.body.status !== 'in_progress') {
        process.stderr.write(`${r.body.operation} (${r.body.status})\n`);
        return (await reportVerified(url, auditor, accountId, r.body.receipt_id)) ? 0 : 1;
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  process.stderr.write(
    `governor: no receipt for ${correlationId} within ${waitMs} ms (the signal is queued; check /v1/tenants/${accountId}/receipts)\n`,
  );
  return 1;
}
