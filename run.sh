#!/usr/bin/env bash
# Crontab's entry point: ./run.sh <job> [options]. `./run.sh --help` lists the jobs.
# quickstart and stop are shell scripts (they install and start things); everything else is node.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# Every node of ours (services, jobs, the processes they start) may grow V8's young generation to 64 MB
# (default 16): a loaded gateway then spends a fifth less CPU per document for about 100 MB more RSS,
# and a small job never grows it (bench/RESULTS.md). A flag in the caller's NODE_OPTIONS comes later and wins.
[ "${1:-}" = test ] || export NODE_OPTIONS="--max-semi-space-size=64${NODE_OPTIONS:+ $NODE_OPTIONS}"
case "${1:-}" in
  quickstart) shift; exec "$here/scripts/quickstart/quickstart.sh" "$@" ;;
  stop) shift; exec "$here/scripts/quickstart/stop.sh" "$@" ;;
  test) shift; exec "$here/scripts/test.sh" "$@" ;;
esac
if [ ! -f "$here/dist/cli/main.js" ] || [ ! -d "$here/node_modules" ]; then
  echo "run.sh: not built yet: run ./run.sh quickstart (or: npm ci && npm run build)" >&2
  exit 2
fi
exec node "$here/dist/cli/main.js" "$@"
