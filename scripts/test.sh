#!/usr/bin/env bash
# The whole test suite, as CI runs it: install, build (typecheck), lint, unit tests, the real
# local backends up, integration tests, backends down (also on failure), one totals line.
set -euo pipefail
cd "$(dirname "$0")/.."
reports=reports
rm -rf "$reports" && mkdir -p "$reports"

step() { printf '\n==> %s\n' "$*"; }
step bootstrap && bash scripts/bootstrap.sh
step install && pnpm install --frozen-lockfile --reporter=append-only
step build && pnpm run -s build
step lint && pnpm run -s lint && pnpm run -s format:check

status=0
step "unit tests"
pnpm exec jest --selectProjects unit --ci --json --outputFile "$reports/unit.json" || status=1

step "local backends up"
trap 'step "local backends down"; bash infra/local/backends.sh down' EXIT
bash infra/local/backends.sh up
eval "$(bash infra/local/backends.sh env)"

step "integration tests"
pnpm exec jest --selectProjects integration --ci --runInBand --json --outputFile "$reports/integration.json" || status=1

step totals
node scripts/totals.js "$reports"/*.json || status=1
exit "$status"
