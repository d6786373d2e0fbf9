#!/usr/bin/env bash
# ./run.sh test: the whole test suite on a fresh machine. Installs what is missing (npm packages, the
# Debian packages of the real servers the tests start), then type-checks, lints, builds and runs jest.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
# The run must leave the checkout as it found it: installs, builds and tests write only ignored files.
tree_before=$(git status --porcelain 2>/dev/null || true)
# Debian packages first: npm ci compiles the kerberos binding against MIT's headers.
scripts/servers/services.sh install all
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # Exactly the committed lock file, so a fresh clone stays clean (git status).
  npm ci --no-audit --no-fund --loglevel=error
fi
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
tree_after=$(git status --porcelain 2>/dev/null || true)
if [ "$tree_before" != "$tree_after" ]; then
  echo "run.sh test: the test run changed the checkout (git status):" >&2
  diff <(echo "$tree_before") <(echo "$tree_after") >&2 || true
  status=1
fi
exit $status
