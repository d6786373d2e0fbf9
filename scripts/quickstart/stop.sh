#!/usr/bin/env bash
# ./run.sh stop: stops everything `./run.sh quickstart` started (servers, gateway, receivers, demo sources).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$here"
config="$here/config.cfg"
[ "${1:-}" = --config ] && config="$2"
if [ ! -f dist/scripts/quickstart/local.js ]; then echo "stop: nothing was built, so nothing runs"; exit 0; fi
exec node dist/scripts/quickstart/local.js stop --config "$config"
