/**
 * The governor CLI's commands and how a failure is reported; `main.ts` runs it. Kept apart
 * from the entry point so tests can load the command table without running a command line.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ReceiptsError } from '@governor/receipts';
import { CliError, EXIT, environmentError } from './errors';
import { demoCommand, demoHelp } from './commands/demo';
import { exportCommand, exportHelp } from './commands/export-receipts';
import { keysCommand, keysHelp } from './commands/keys';
import { policyCommand, policyHelp } from './commands/policy';
import { signalCommand, signalHelp } from './commands/signal';
import { startCommand, startHelp } from './commands/start';
import { webhookCommand, webhookHelp } from './commands/webhook';
import { sampleCommand, sampleHelp } from './commands/sample';
import { verifyArchiveCommand, verifyArchiveHelp } from './commands/verify-archive';
import { verifyChainCommand, verifyChainHelp } from './commands/verify-chain';
import { verifyReceiptCommand, verifyReceiptHelp } from './commands/verify-receipt';

export interface Command {
  readonly run: (argv: string[]) => Promise<number>;
  /** The help text; its first line is the usage line, listing every flag the command takes. */
  readonly help: string;
  /** The subcommand its parser sits behind (`keys generate`), if any. */
  readonly sub?: string;
}

export const COMMANDS: Record<string, Command> = {
  start: { run: startCommand, help: startHelp },
  webhook: { run: webhookCommand, help: webhookHelp, sub: 'send' },
  policy: { run: policyCommand, help: policyHelp, sub: 'push' },
  signal: { run: signalCommand, help: signalHelp, sub: 'send' },
  demo: { run: demoCommand, help: demoHelp },
  'export-receipts': { run: exportCommand, help: exportHelp },
  keys: { run: keysCommand, help: keysHelp, sub: 'generate' },
  receipts: { run: sampleCommand, help: sampleHelp, sub: 'sample' },
  'verify-chain': { run: verifyChainCommand, help: verifyChainHelp },
  'verify-archive': { run: verifyArchiveCommand, help: verifyArchiveHelp },
  'verify-receipt': { run: verifyReceiptCommand, help: verifyReceiptHelp },
};

const HELP = `governor: the autonomic governor's command line

Commands:
${Object.values(COMMANDS)
  .map((c) => '  ' + (c.help.split('\n')[0] ?? ''))
  .join('\n')}

Run \`governor help COMMAND\` (or \`governor COMMAND --help\`) for details; \`governor --version\` for the version.
Exit status: 0 valid, 1 invalid, 2 usage, configuration or I/O error.
`;

/** services/cli/package.json's version: the same file from src/ (tests) and dist/ (the binary). */
export function version(): string {
  const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

const isHelp = (arg: string | undefined) => arg === '--help' || arg === '-h';
/** `--version` or `-V` anywhere before a `--` (after which everything is a positional). */
const asksVersion = (argv: string[]) => {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).some((a) => a === '--version' || a === '-V');
};

/** Runs one command line; resolves to the exit status, rejects with what `expected` explains. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || isHelp(name)) {
    process.stdout.write(HELP);
    return name === undefined ? EXIT.USAGE : 0;
  }
  if (name === 'help') return help(rest);
  if (name === 'version' || asksVersion(argv)) {
    process.stdout.write(`governor ${version()}\n`);
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) throw new CliError(`unknown command "${name}"; run \`governor --help\``);
  // `keys --help`, `receipts -h`: help before (or instead of) a subcommand.
  if (isHelp(rest[0])) {
    process.stdout.write(command.help + '\n');
    return 0;
  }
  return command.run(rest);
}

/** `governor help [COMMAND]`. */
function help(names: string[]): number {
  const [name, ...extra] = names;
  if (name === undefined) {
    process.stdout.write(HELP);
    return 0;
  }
  const command = COMMANDS[name];
  if (!command || extra.length > 0)
    throw new CliError(
      `unknown command "${names.join(' ')}"; the commands are ${Object.keys(COMMANDS).join(', ')}`,
    );
  process.stdout.write(command.help + '\n');
  return 0;
}

/**
 * The one line an expected failure is reported with (a usage, configuration or environment
 * problem), or null for a bug, which keeps its stack.
 */
export async function expected(e: unknown): Promise<string | null> {
  if (e instanceof CliError || e instanceof ReceiptsError) return e.message;
  // Configuration errors of the stores and the ingress (loaded only now: the ingress is heavy).
  const { ConfigError } = await import('@governor/stores');
  const { SecretsError } = await import('@governor/ingress');
  if (e instanceof ConfigError || e instanceof SecretsError) return e.message;
  return environmentError(e);
}
