#!/usr/bin/env bash
# Runs the governor CLI from a fresh clone: on first use it installs pnpm and the dependencies and
# builds, at the repository root, one line per step with its time on stderr; then it runs
# `governor` with every argument in the caller's directory, so each relative path (a policy file,
# --keys, --out, --checkpoint, --data-dir and the default data dir .governor) is the caller's.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
MAIN="$REPO/services/cli/dist/main.js"

# Microseconds since the epoch (bash 5; the separator of EPOCHREALTIME follows the locale).
now_us() { local t=${EPOCHREALTIME:-$(date +%s.%N)}; t=${t//[!0-9]/}; echo "$((10#${t:0:16}))"; }

# step LABEL COMMAND...: runs COMMAND at the repository root with its output kept aside and prints
# `governor: first run: LABEL... 12.3s`; on failure the time, the command's output and its status.
step() {
  local label=$1 start elapsed log status=0
  shift
  log=$(mktemp)
  printf 'governor: first run: %s... ' "$label" >&2
  start=$(now_us)
  (cd "$REPO" && "$@") >"$log" 2>&1 || status=$?
  elapsed=$((($(now_us) - start) / 100000))
  if [ "$status" -eq 0 ]; then
    printf '%d.%ds\n' "$((elapsed / 10))" "$((elapsed % 10))" >&2
  else
    printf 'failed after %d.%ds (exit %d):\n' "$((elapsed / 10))" "$((elapsed % 10))" "$status" >&2
    cat "$log" >&2
  fi
  rm -f "$log"
  return "$status"
}

if [ ! -f "$MAIN" ] || [ ! -f "$REPO/services/ingress/dist/index.js" ] || [ ! -d "$REPO/node_modules" ]; then
  step 'checking pnpm' bash scripts/bootstrap.sh
  step 'installing dependencies' pnpm install --frozen-lockfile --reporter=silent
  step 'building' pnpm run -s build
fi
exec node "$MAIN" "$@"
