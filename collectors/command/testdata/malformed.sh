#!/bin/sh
# Exit code 0, but its JSON is cut short.
printf '{"events_requested": 50, "events_found": '
