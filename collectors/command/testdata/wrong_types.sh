#!/bin/sh
# JSON whose values do not all fit schemas/command/event_picking.json: 2.5 events (an int), a text for a number, passed missing.
echo '{"events_requested": 2.5, "events_found": "many", "pick_seconds": 1, "state": "done"}'
