#!/usr/bin/env bash
# ./run.sh test: the whole test suite on a fresh machine. Installs what is missing (npm packages, the
# Debian packages of the real servers the tests start), then type-checks, lints, builds and runs jest.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # npm install, not npm ci: the lock file lacks some optional platform packages of @swc/core that npm ci insists on.
  npm install --no-audit --no-fund --loglevel=error
fi
scripts/servers/services.sh install all
npm run --silent typecheck
npm run --silent lint
npm run --silent build
# Every run starts its servers afresh: what earlier runs left in var/test (gigabytes after a while) goes,
# servers first. Two suites at once in one checkout are therefore not supported.
if [ -d var/test ]; then
  find var/test -name server.pid -print0 | while IFS= read -r -d '' pidfile; do
    scripts/servers/services.sh stop "$(dirname "$pidfile")" || true
  done
  rm -rf var/test
fi
mkdir -p var
status=0
npx jest --json --outputFile=var/jest-results.json "$@" || status=$?
node -e '
const r = require(process.argv[1]);
console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed` + (r.numPendingTests ? `, ${r.numPendingTests} skipped` : ""));
' "$here/var/jest-results.json" || true
exit $status
