#!/usr/bin/env bash
# Makes sure pnpm 10 is on PATH. corepack's pnpm fails its signature check on our machines and
# pnpm 11 needs Node 22, so install the pinned pnpm 10 with npm when it is missing.
set -euo pipefail
want=$(node -p 'require("./package.json").packageManager.split("@")[1]')
have=$(pnpm --version 2>/dev/null || true)
if [ "${have%%.*}" != "${want%%.*}" ]; then
  echo "bootstrap: installing pnpm@$want (found: ${have:-none})" >&2
  npm install -g --no-fund --no-audit "pnpm@$want" >&2
fi
