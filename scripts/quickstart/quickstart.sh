#!/usr/bin/env bash
# ./run.sh quickstart: from a fresh checkout to data in a local InfluxDB, in one command.
# Installs what is missing (npm packages, Debian packages), generates config.cfg (mode 600) if there
# is none, starts the local InfluxDB, the gateway and the demo sources, runs every collector once,
# then the downsampling and the status job, and prints where everything is. A second run is quick
# and changes nothing that is already in place. `./run.sh stop` stops what it started.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$here"
config="$here/config.cfg"
while [ $# -gt 0 ]; do
  case "$1" in
    --config) config="$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"; shift 2 ;;
    *) echo "quickstart: unknown option $1 (only --config FILE)" >&2; exit 2 ;;
  esac
done
step() { printf '\n== %s\n' "$*"; }

step "npm dependencies and build"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # Exactly the committed lock file, so a fresh clone stays clean (git status).
  npm ci --no-audit --no-fund --loglevel=error
fi
if [ ! -f dist/cli/main.js ] || [ -n "$(find lib cli gateway collectors downsample status scripts -name '*.ts' -newer dist/cli/main.js 2>/dev/null | head -1)" ]; then
  npm run --silent build
fi

step "Debian packages (installed only when missing)"
scripts/servers/services.sh install influxdb mariadb xrootd node_exporter

step "config"
node dist/scripts/quickstart/quickstartConfig.js "$config"

step "local servers and demo sources"
node dist/scripts/quickstart/local.js start --config "$config"

step "running every job once"
failed=()
# The sources' jobs all run for the slot the quickstart started in: a job that reads what another sent
# for its slot (panda-derived after panda) must not cross into the next slot between the two.
slot="$(date -u '+%Y-%m-%d %H:%M')"
while read -r job same_slot; do
  options=(--config "$config")
  [ "$same_slot" = same-slot ] && options+=(--timestamp "$slot")
  if ./run.sh "$job" "${options[@]}"; then
    printf '  %-28s ok\n' "$job"
  else
    printf '  %-28s FAILED (see var/log/%s.log)\n' "$job" "$job"
    failed+=("$job")
  fi
done < <(node dist/scripts/quickstart/local.js jobs --config "$config")

step "where things are"
node dist/scripts/quickstart/local.js summary --config "$config"
echo
echo "Crontab lines (./run.sh crontab --config $config):"
./run.sh crontab --config "$config"
if [ ${#failed[@]} -gt 0 ]; then
  echo "quickstart: these jobs failed: ${failed[*]}" >&2
  exit 1
fi
