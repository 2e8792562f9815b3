import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { resolve } from 'node:path';

const REPO = resolve(__dirname, '../../..');

// Runs a TypeScript file straight from the sources, as jest does: @swc/core transforms each .ts
// file on require, and `@governor/*` resolves to packages/*/src/index.ts. No build needed.
const HOOK = `
const Module = require('node:module');
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const { transformSync } = require(process.env.TS_CHILD_SWC);
const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  const m = /^@governor\\/([a-z-]+)$/.exec(request);
  const folder = m && (m[1] === 'worker' || m[1] === 'ingress') ? 'services' : 'packages';
  const target = m ? join(process.env.TS_CHILD_REPO, folder, m[1], 'src', 'index.ts') : request;
  return resolveFilename.call(this, target, ...rest);
};
Module._extensions['.ts'] = function (module, filename) {
  const { code } = transformSync(readFileSync(filename, 'utf8'), {
    filename,
    jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
    module: { type: 'commonjs' },
  });
  module._compile(code, filename);
};
process.argv = [process.argv[0], process.env.TS_CHILD_SCRIPT, ...JSON.parse(process.env.TS_CHILD_ARGS || '[]')];
require(process.env.TS_CHILD_SCRIPT);
`;

/** Starts `node` on a TypeScript `script` with `env` added to this process's environment. */
export function spawnTs(
  script: string,
  env: Record<string, string>,
  args: readonly string[] = [],
): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, ['-e', HOOK], {
    env: {
      ...process.env,
      ...env,
      TS_CHILD_SWC: require.resolve('@swc/core'),
      TS_CHILD_REPO: REPO,
      TS_CHILD_SCRIPT: script,
      TS_CHILD_ARGS: JSON.stringify(args),
    },
    stdio: 'pipe',
  });
}
