#!/usr/bin/env node
// Prints the totals of every jest run on one line, `N passed, N failed`, the form CI reads.
// A suite that could not run counts as a failure; a run that executed no test fails.
'use strict';
const fs = require('node:fs');

let passed = 0;
let failed = 0;
let skipped = 0;
for (const file of process.argv.slice(2)) {
  let r;
  try {
    r = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    console.error(`totals: cannot read ${file}: ${e.message}`);
    failed += 1;
    continue;
  }
  passed += r.numPassedTests;
  failed += r.numFailedTests + r.numRuntimeErrorTestSuites;
  skipped += r.numPendingTests + r.numTodoTests;
}
console.log(`${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : ''));
if (passed + failed === 0) {
  console.error('totals: no test was executed');
  process.exit(1);
}
process.exit(failed === 0 ? 0 : 1);
