#!/usr/bin/env node
// Runs the named test files several times in a row and prints `N passed, N failed` over the runs:
// how a timing-sensitive test is shown to be reliably green, never made green by retrying it.
//
//   pnpm test:repeat <pattern> <times> [--load N] [--load-runs K] [-t NAME] [--keep DIR]
//
// <pattern> is a jest path pattern (e.g. kafka-worker, 'scaleout|safe-mode'). With --load N, N
// CPU-bound processes (node busy loops, one per core's worth) run beside the last K runs (all by
// default), as other jobs may on any CI machine. Integration tests get the local backends: they
// are brought up if they are not (and then taken down at the end). Each run's jest output goes
// to DIR/run-<i>.log (default reports/repeat/), so a failure can be read after the fact.
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const BACKENDS = path.join(ROOT, 'infra', 'local', 'backends.sh');
const USAGE = 'usage: pnpm test:repeat <pattern> <times> [--load N] [--load-runs K] [-t NAME] [--keep DIR]';

function fail(message) {
  console.error(`test:repeat: ${message}`);
  process.exit(2);
}

function parseArgs(argv) {
  const o = { load: 0, loadRuns: undefined, name: undefined, keep: path.join(ROOT, 'reports', 'repeat') };
  const positional = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) fail(`${a} needs a value\n${USAGE}`);
      return argv[++i];
    };
    if (a === '--help' || a === '-h') {
      console.log(
        `${USAGE}\n\nRuns the jest test files matching <pattern> <times> times in a row and prints\n'N passed, N failed' over the runs and the slowest run. --load N starts N CPU-bound\nprocesses beside the last K runs (--load-runs, default all). -t runs only the tests\nwhose name matches. Each run's output is kept in --keep DIR (default reports/repeat).\nExit 0 when every run passed, 1 when one failed, 2 on a usage error.`,
      );
      process.exit(0);
    } else if (a === '--load') o.load = count(value(), '--load', 0);
    else if (a === '--load-runs') o.loadRuns = count(value(), '--load-runs', 0);
    else if (a === '-t') o.name = value();
    else if (a === '--keep') o.keep = path.resolve(process.env.INIT_CWD ?? process.cwd(), value());
    else if (a.startsWith('-')) fail(`unknown option ${a}\n${USAGE}`);
    else positional.push(a);
  }
  if (positional.length !== 2) fail(USAGE);
  o.pattern = positional[0];
  o.times = count(positional[1], '<times>', 1);
  o.loadRuns ??= o.times;
  return o;
}

function count(text, what, min) {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) fail(`${what} must be an integer >= ${min}, got '${text}'`);
  return n;
}

/** The test files jest would run for the pattern, with their project. */
function listTests(pattern) {
  const r = spawnSync('pnpm', ['exec', 'jest', '--listTests', '--json', pattern], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  if (r.status !== 0) fail(`jest --listTests failed: ${r.stderr.trim().split('\n').pop()}`);
  const files = JSON.parse(r.stdout);
  if (files.length === 0) fail(`no test file matches '${pattern}'`);
  return files.map((f) => path.relative(ROOT, f)).sort();
}

/** Brings the backends up when an integration test needs them; returns the env and whether we started them. */
function backends() {
  const status = spawnSync('bash', [BACKENDS, 'status'], { encoding: 'utf8' });
  const wasUp = status.status === 0 && !/\bdown\b/.test(status.stdout);
  if (!wasUp) {
    const up = spawnSync('bash', [BACKENDS, 'up'], { stdio: 'inherit' });
    if (up.status !== 0) fail('the local backends did not come up (infra/local/backends.sh up)');
  }
  const env = spawnSync('bash', [BACKENDS, 'env'], { encoding: 'utf8' });
  if (env.status !== 0) fail('infra/local/backends.sh env failed');
  const vars = {};
  for (const m of env.stdout.matchAll(/^export (\w+)=(.*)$/gm)) vars[m[1]] = m[2];
  return { vars, startedHere: !wasUp };
}

/** N processes that each keep a core busy until stopped. */
function startLoad(n) {
  const loop = 'for(;;){for(let i=0;i<1e7;i++);}';
  return Array.from({ length: n }, () => spawn(process.execPath, ['-e', loop], { stdio: 'ignore' }));
}

function runOnce(o, files, env, logFile) {
  return new Promise((resolve) => {
    const args = ['exec', 'jest', '--ci', '--runInBand', '--json', '--outputFile', `${logFile}.json`];
    if (o.name) args.push('-t', o.name);
    args.push(...files);
    const out = fs.openSync(logFile, 'w');
    const started = Date.now();
    const child = spawn('pnpm', args, {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', out, out],
    });
    child.on('exit', (code) => {
      fs.closeSync(out);
      let result = null;
      try {
        result = JSON.parse(fs.readFileSync(`${logFile}.json`, 'utf8'));
      } catch {
        // no report: the run itself failed (counted below)
      }
      resolve({ code, ms: Date.now() - started, result });
    });
  });
}

/** The names of the tests that failed in one jest report, with the first line of their failure. */
function failures(result) {
  if (!result) return ['(jest wrote no report; see the run log)'];
  const out = [];
  for (const suite of result.testResults) {
    if (suite.status === 'failed' && suite.assertionResults.length === 0)
      out.push(`${path.relative(ROOT, suite.name)}: ${(suite.message || '').trim().split('\n')[0]}`);
    for (const t of suite.assertionResults)
      if (t.status === 'failed')
        out.push(`${t.fullName}: ${(t.failureMessages[0] || '').trim().split('\n')[0].slice(0, 300)}`);
  }
  return out;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const files = listTests(o.pattern);
  const needsBackends = files.some((f) => f.endsWith('.int.test.ts'));
  const { vars, startedHere } = needsBackends ? backends() : { vars: {}, startedHere: false };
  fs.mkdirSync(o.keep, { recursive: true });
  console.log(
    `test:repeat: ${files.join(', ')} × ${o.times}${o.load ? `; ${o.load} CPU-bound process(es) beside the last ${o.loadRuns} run(s)` : ''}`,
  );
  let passed = 0;
  let failed = 0;
  const slowest = { ms: 0, run: 0 };
  let load = [];
  const stopLoad = () => {
    for (const p of load) p.kill('SIGKILL');
    load = [];
  };
  process.on('exit', stopLoad);
  try {
    for (let i = 1; i <= o.times; i++) {
      const loaded = o.load > 0 && i > o.times - o.loadRuns;
      if (loaded && load.length === 0) load = startLoad(o.load);
      const log = path.join(o.keep, `run-${i}.log`);
      const r = await runOnce(o, files, vars, log);
      const ok = r.code === 0 && r.result?.success === true && r.result.numTotalTests > 0;
      if (ok) passed += 1;
      else failed += 1;
      if (r.ms > slowest.ms) Object.assign(slowest, { ms: r.ms, run: i });
      const tests = r.result ? `${r.result.numPassedTests}/${r.result.numTotalTests} tests` : 'no report';
      console.log(
        `run ${i}/${o.times}${loaded ? ' (loaded)' : ''}: ${ok ? 'passed' : 'FAILED'} in ${(r.ms / 1000).toFixed(1)} s, ${tests}${ok ? '' : ` (${log})`}`,
      );
      if (!ok) for (const f of failures(r.result)) console.log(`  ✗ ${f}`);
    }
  } finally {
    stopLoad();
    if (startedHere) spawnSync('bash', [BACKENDS, 'down'], { stdio: 'inherit' });
  }
  console.log(`slowest run: ${slowest.run} (${(slowest.ms / 1000).toFixed(1)} s)`);
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
}

main().catch((e) => fail(e.stack ?? String(e)));
