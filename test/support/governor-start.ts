import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseSecrets, tokenFor, webhookHeaders, type EdgeSecrets } from '@governor/ingress';
import { spawnTs } from '@governor/testkit';

const CLI = join(__dirname, '..', '..', 'services', 'cli', 'src', 'main.ts');

/** `governor start` (or any CLI command) run from the sources, with its output collected. */
export function runCli(args: readonly string[], env: Record<string, string> = {}) {
  const child = spawnTs(CLI, env, args);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exit, stdout: () => stdout, stderr: () => stderr };
}

export interface StartedGovernor {
  readonly url: string;
  /** The governor's process id (what a second start on its data dir names). */
  readonly pid: number;
  readonly secrets: EdgeSecrets;
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** Sends `signal` and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `governor start --port 0` and resolves once it prints its URL. */
export async function startGovernorProcess(
  dataDir: string,
  args: readonly string[] = [],
  env: Record<string, string> = {},
): Promise<StartedGovernor> {
  const run = runCli(['start', '--port', '0', '--data-dir', dataDir, ...args], env);
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`governor start printed no url: ${run.stderr().slice(-2000)}`)),
      60_000,
    );
    const check = () => {
      const m = /url\s+(http:\/\/\S+)/.exec(run.stdout());
      if (m) {
        clearTimeout(timer);
        resolve(m[1] as string);
      }
    };
    run.child.stdout.on('data', check);
    void run.exit.then((code) => {
      clearTimeout(timer);
      reject(new Error(`governor start exited ${String(code)}: ${run.stderr().slice(-2000)}`));
    });
  });
  const file = JSON.parse(await readFile(join(dataDir, 'dev-secrets.json'), 'utf8')) as {
    webhook_secrets: string[];
    policy_secrets: string[];
    api_tokens: string;
  };
  return {
    url,
    pid: run.child.pid as number,
    secrets: {
      webhookSecrets: env.GOVERNOR_WEBHOOK_SECRETS ? [env.GOVERNOR_WEBHOOK_SECRETS] : file.webhook_secrets,
      policySecrets: file.policy_secrets,
      apiTokens: file.api_tokens,
      devFile: join(dataDir, 'dev-secrets.json'),
    },
    stdout: run.stdout,
    stderr: run.stderr,
    async stop(signal = 'SIGTERM') {
      if (run.child.exitCode !== null) return run.child.exitCode;
      run.child.kill(signal);
      return run.exit;
    },
  };
}

let sequence = 0;

/** A client of the HTTP edge that signs like the marketplace and GitOps and holds the admin token. */
export function edgeClient(url: string, secrets: EdgeSecrets) {
  const token = tokenFor(secrets, 'operator') as string;
  async function send(
    method: string,
    path: string,
    body?: string,
    headers: Record<string, string> = {},
  ): Promise<{
    status: number;
    body: Record<string, unknown>;
    text: string;
    headers: Record<string, string>;
  }> {
    const res = await fetch(url + path, {
      method,
      headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(body !== undefined ? { body } : {}),
    });
    const text = await res.text();
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      json = { text };
    }
    return {
      status: res.status,
      body: json,
      text,
      headers: Object.fromEntries(res.headers),
    };
  }
  const signed = (path: string, secret: string, payload: unknown) => {
    const body = JSON.stringify(payload);
    const key = parseSecrets([secret], 'test')[0] as Buffer;
    const id = `msg_test_${process.pid}_${++sequence}`;
    return send('POST', path, body, webhookHeaders(key, id, Math.round(Date.now() / 1000), body));
  };
  return {
    webhook: (payload: unknown) =>
      signed('/v1/webhooks/marketplace', secrets.webhookSecrets[0] as string, payload),
    policy: (payload: unknown) => signed('/v1/policies', secrets.policySecrets[0] as string, payload),
    get: (path: string) => send('GET', path, undefined, { authorization: `Bearer ${token}` }),
    post: (path: string, payload: unknown, headers: Record<string, string> = {}) =>
      send('POST', path, JSON.stringify(payload), { authorization: `Bearer ${token}`, ...headers }),
  };
}

/** What a marketplace sends for `account` on the repo's starter plan. */
export function entitlementEvent(type: string, account: string, extra: Record<string, unknown> = {}) {
  return {
    type,
    entitlement_id: `ent-${account}`,
    account_id: account,
    sku_id: 'governor-starter',
    plan_type: 'starter',
    region: 'us-central1',
    occurred_at: new Date().toISOString(),
    ...extra,
  };
}
