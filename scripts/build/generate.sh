#!/usr/bin/env bash
# npm run generate [-- --check]: schemas/kinds.ts first, since the code imports it (a new schema's kind
# does not exist before), then every file made from the code and the schemas.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# tsc writes the JavaScript even when a kind is still missing; the second build must be clean.
npx tsc -p tsconfig.build.json >/dev/null || true
node dist/scripts/build/generate.js --kinds "$@"
npx tsc -p tsconfig.build.json
node dist/scripts/build/generate.js "$@"
