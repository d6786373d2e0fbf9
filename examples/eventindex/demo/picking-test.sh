#!/bin/sh
# The EventIndex example's event picking test: asks the picking service at $1 for the file of five
# known events, one request each, and prints the result as JSON for the command collector
# ([command.ei_picking]: events_requested, events_found, pick_seconds, passed, state).
# It exits 0 whenever it ran to its end, lost events included: the JSON says how the test went.
set -u
service=${1:?usage: picking-test.sh PICKING_SERVICE_URL}
requested=0
found=0
start=$(date +%s%N)
for pair in 480001:1001 480001:2002 480002:77 480003:123456 480004:9; do
  requested=$((requested + 1))
  run=${pair%%:*}
  event=${pair##*:}
  if answer=$(curl --silent --show-error --fail --max-time 20 "$service?run=$run&event=$event" 2>/dev/null); then
    case "$answer" in *'"guid":"'*) found=$((found + 1)) ;; esac
  fi
done
end=$(date +%s%N)
passed=false
[ "$found" -eq "$requested" ] && passed=true
state=done
[ "$found" -eq 0 ] && state=failed
seconds=$(awk -v ns=$((end - start)) 'BEGIN { printf "%.3f", ns / 1e9 }')
printf '{"events_requested": %d, "events_found": %d, "pick_seconds": %s, "passed": %s, "state": "%s"}\n' "$requested" "$found" "$seconds" "$passed" "$state"
