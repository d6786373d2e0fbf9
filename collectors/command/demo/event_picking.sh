#!/bin/sh
# Demo of an event picking test for the quickstart: prints its result as JSON (what a real test script would measure).
events=100
if [ "$1" = "--events" ] && [ -n "$2" ]; then events=$2; fi
found=$events
# One run in ten loses an event, so the demo dashboard has something to show.
minute=$(date +%M)
if [ $(( ${minute#0} % 10 )) -eq 3 ]; then found=$((events - 1)); fi
passed=false
[ "$found" -eq "$events" ] && passed=true
printf '{"events_requested": %s, "events_found": %s, "passed": %s, "state": "done", "timing": {"pick_seconds": 1.5}}\n' "$events" "$found" "$passed"
