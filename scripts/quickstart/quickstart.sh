#!/usr/bin/env bash
# ./run.sh quickstart: from a fresh checkout to data in a local InfluxDB, in one command.
# Installs what is missing (npm packages; the Debian packages of the servers it starts), writes
# config.cfg (mode 600) if there is none (or adds the sections of sources added since), starts the
# local InfluxDB, the gateway, the receivers and the demo sources, runs every job once, and prints
# where everything is. A second run is quick and changes nothing that is already in place (processes of
# ours started before the last build are restarted). `./run.sh stop` stops what it started.
# --example NAME also adds that example's config (examples/NAME/NAME.cfg) to config.cfg, once, and
# starts its demo sources (e.g. --example eventindex: the ten modules of the ATLAS EventIndex monitoring).
# Before the current slot, the past slots of this hour and the last are backfilled (backfill.ts), so
# the details pages have plots at once.
# --stream adds the stream route (stream.cfg) to config.cfg, once (keys of a section it has go
# inside it); local.ts starts its three nats-server nodes and two writers whenever config.cfg has it
# (streamRoute.ts).
set -euo pipefail
usage() {
  cat <<'USAGE'
usage: ./run.sh quickstart [--config FILE] [--example NAME]... [--stream]

From a fresh checkout to data in a local InfluxDB: installs what is missing, writes config.cfg (if
there is none), starts a local InfluxDB, the gateway, the receivers and the demo sources, backfills
the past slots of this hour and the last, runs every job once and prints where everything is.

  --config FILE    the config to use (and to write when missing); default ./config.cfg
  --example NAME   also add examples/NAME/NAME.cfg to the config and start its demo sources
                   (e.g. --example eventindex); may be given more than once
  --stream         the stream route: add [stream] (three local nats-server nodes, replicas = 3),
                   [gateway] route = stream, [writer] and the [jetstream] collector (the stream's
                   lag, dead letters and replicas) to the config, once: a [stream] it has is kept,
                   the keys of a section it has go inside that section. Starts a JetStream cluster
                   of three nats-server processes on loopback (stores in var/nats-1..3) and two
                   writers, so that every document goes gateway -> JetStream -> writers ->
                   InfluxDB. Later runs with or without --stream keep them running while the
                   config has that [stream]; to go back to the direct route, ./run.sh stop, then
                   set [gateway] route = direct and remove [stream], [writer] and [jetstream]
  --help           this text

Environment:
  MONIT_QUICKSTART_PORT_OFFSET=N   shift every loopback port of the generated config by N, for a
                                   second setup beside the first (only when config.cfg is written,
                                   and in what --example and --stream add to it)

./run.sh stop stops what it started (with the stream route: its nats-server nodes and writers too).
USAGE
}
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$here"
config="$here/config.cfg"
examples=()
stream=()
while [ $# -gt 0 ]; do
  case "$1" in
    --config) config="$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"; shift 2 ;;
    --example) [ -n "${2:-}" ] || { echo "quickstart: --example needs a name (the folders of examples/)" >&2; exit 2; }
      examples+=(--example "$2"); shift 2 ;;
    --stream) stream=(--stream); shift ;;
    --help|-h) usage; exit 0 ;;
    *) echo "quickstart: unknown option $1 (only --config FILE, --example NAME, --stream; see --help)" >&2; exit 2 ;;
  esac
done
step() { printf '\n== %s\n' "$*"; }

step "npm dependencies and build"
mkdir -p var/log
# Tool output goes to a log, shown only when the step fails.
quietly() { # quietly LOG COMMAND...
  local log=$1; shift
  "$@" >"$log" 2>&1 || { tail -n 30 "$log" >&2; echo "quickstart: $* failed (log: $log)" >&2; exit 1; }
}
# npm ci compiles the kerberos binding against MIT's headers (Debian's libkrb5-dev).
quietly var/log/apt-build.log scripts/servers/services.sh install build
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # Exactly the committed lock file, so a fresh clone stays clean (git status).
  quietly var/log/npm-ci.log npm ci --no-audit --no-fund
  echo "  npm packages installed"
fi
if [ ! -f dist/cli/main.js ] || [ -n "$(find lib cli gateway collectors downsample status dashboards schemas scripts examples -name '*.ts' -newer dist/cli/main.js 2>/dev/null | head -1)" ]; then
  quietly var/log/build.log npm run build
  echo "  built"
fi

step "config"
node dist/scripts/quickstart/quickstartConfig.js "$config" "${examples[@]}" "${stream[@]}"

step "local servers and demo sources"
node dist/scripts/quickstart/local.js start --config "$config"

step "running every job once"
failed=()
# The sources' jobs all run for the slot the quickstart started in: a job that reads what another sent
# for its slot (panda-derived after panda) must not cross into the next slot between the two.
slot="$(date -u '+%Y-%m-%d %H:%M')"
# The past slots first, oldest first, so that state files (rates) see the slots in order.
node dist/scripts/quickstart/backfill.js --config "$config" --slot "$slot" || failed+=(backfill)
drained=no
while read -r job same_slot; do
  # On the stream route the writers store what the sources sent a moment later: downsampling and
  # status read InfluxDB, so they wait for it (nothing is printed on the direct route).
  if [ "$same_slot" != same-slot ] && [ $drained = no ]; then
    node dist/scripts/quickstart/local.js drain --config "$config" </dev/null || failed+=(drain)
    drained=yes
  fi
  options=(--config "$config")
  [ "$same_slot" = same-slot ] && options+=(--timestamp "$slot")
  # A job's own lines are in var/log/<job>.log; here only its one-line outcome.
  if output=$(./run.sh "$job" "${options[@]}" 2>&1); then
    note=$(printf '%s\n' "$output" | sed -n "s/^$job: \(ok, .*\)$/\1/p" | tail -n 1)
    printf '  %-28s %s\n' "$job" "${note:-ok}"
  else
    printf '  %-28s FAILED: %s\n' "$job" "$(printf '%s\n' "$output" | tail -n 1)"
    failed+=("$job")
  fi
done < <(node dist/scripts/quickstart/local.js jobs --config "$config")

step "where things are"
node dist/scripts/quickstart/local.js summary --config "$config"
echo
echo "Crontab lines (./run.sh crontab --config $config):"
./run.sh crontab --config "$config"
echo
echo "Keep data flowing: nothing runs after the quickstart by itself (the lights turn N/A within half an"
echo "hour). Install the crontab lines above (crontab -e), or run the same schedule in the background:"
echo "  nohup ./run.sh scheduler --config $config >/dev/null 2>&1 &    (its log: scheduler.log, beside the jobs')"
if [ ${#failed[@]} -gt 0 ]; then
  echo "quickstart: these jobs failed: ${failed[*]}" >&2
  exit 1
fi
