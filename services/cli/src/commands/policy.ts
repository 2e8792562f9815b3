import { randomUUID } from 'node:crypto';
import { parse } from '../args';
import { CliError } from '../errors';
import { readText } from '../io';
import { edgeUrl, postSigned, printAnswer, senderSecrets } from '../edge-client';

const USAGE = 'governor policy push FILE [--force] [--skip-compatibility-check] [--url URL] [--data-dir DIR]';

export const policyHelp = `${USAGE}
  Pushes a policy document the way the GitOps pipeline does: POST /v1/policies signed with the
  first secret of GOVERNOR_POLICY_SECRETS (else DIR/dev-secrets.json). Prints the answer: the
  new and previous version and how many governors upgraded or kept their policy.
  --force                      apply an incompatible policy anyway (writes an escalation receipt)
  --skip-compatibility-check   the same as --force
  Exit: 0 applied, 1 refused (409 incompatible, 422 invalid), 2 usage or connection error.`;

export async function policyCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === '--help' || sub === '-h') {
    process.stdout.write(policyHelp + '\n');
    return 0;
  }
  if (sub !== 'push') throw new CliError(`unknown policy command "${sub ?? ''}"\nusage: ${USAGE}`);
  const { values, positionals } = parse(
    rest,
    {
      force: { type: 'boolean' },
      'skip-compatibility-check': { type: 'boolean' },
      url: { type: 'string' },
      'data-dir': { type: 'string' },
    },
    USAGE,
  );
  if (values.help) {
    process.stdout.write(policyHelp + '\n');
    return 0;
  }
  const file = positionals[0];
  if (file === undefined || positionals.length > 1)
    throw new CliError(`give one policy FILE\nusage: ${USAGE}`);
  let policy: unknown;
  try {
    policy = JSON.parse(await readText(file, 'policy file'));
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(`${file} is not JSON: ${(e as Error).message}`);
  }
  const body = JSON.stringify({
    policy,
    compatibility_check: values['skip-compatibility-check'] !== true,
    force: values.force === true,
  });
  const secrets = await senderSecrets(values['data-dir']);
  const secret = secrets.policySecrets[0];
  if (!secret) throw new CliError('no policy secret configured (GOVERNOR_POLICY_SECRETS)');
  return printAnswer(
    await postSigned(edgeUrl(values.url), '/v1/policies', secret, body, `policy_${randomUUID()}`),
  );
}
