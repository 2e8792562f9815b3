#!/usr/bin/env node
import { ReceiptsError } from '@governor/receipts';
import { CliError, EXIT } from './errors';
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

const COMMANDS: Record<string, { run: (argv: string[]) => Promise<number>; help: string }> = {
  start: { run: startCommand, help: startHelp },
  webhook: { run: webhookCommand, help: webhookHelp },
  policy: { run: policyCommand, help: policyHelp },
  signal: { run: signalCommand, help: signalHelp },
  demo: { run: demoCommand, help: demoHelp },
  'export-receipts': { run: exportCommand, help: exportHelp },
  keys: { run: keysCommand, help: keysHelp },
  receipts: { run: sampleCommand, help: sampleHelp },
  'verify-chain': { run: verifyChainCommand, help: verifyChainHelp },
  'verify-archive': { run: verifyArchiveCommand, help: verifyArchiveHelp },
  'verify-receipt': { run: verifyReceiptCommand, help: verifyReceiptHelp },
};

const HELP = `governor: the autonomic governor's command line

Commands:
${Object.values(COMMANDS)
  .map((c) => '  ' + (c.help.split('\n')[0] ?? ''))
  .join('\n')}

Run \`governor COMMAND --help\` for details. Exit status: 0 valid, 1 invalid, 2 usage or I/O error.
`;

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(HELP);
    return name === undefined ? EXIT.USAGE : 0;
  }
  const command = COMMANDS[name];
  if (!command) throw new CliError(`unknown command "${name}"; run \`governor --help\``);
  return command.run(rest);
}

// A reader that stops early (`| head`) is not an error worth a stack trace.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    // Expected failures get one line; anything else is a bug and keeps its stack.
    if (e instanceof CliError || e instanceof ReceiptsError) process.stderr.write(`governor: ${e.message}\n`);
    else process.stderr.write(`governor: unexpected error: ${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = EXIT.USAGE;
  },
);
