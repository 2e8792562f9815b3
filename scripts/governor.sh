#!/usr/bin/env bash
# Runs the governor CLI from a fresh clone: installs pnpm and the dependencies and builds on
# first use (quietly, progress on stderr), then passes every argument to `governor`.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f services/cli/dist/main.js ] || [ ! -f services/ingress/dist/index.js ] || [ ! -d node_modules ]; then
  echo "governor: first run: installing and building (about a minute)..." >&2
  bash scripts/bootstrap.sh
  pnpm install --frozen-lockfile --reporter=silent >&2
  pnpm run -s build >&2
fi
exec node services/cli/dist/main.js "$@"
