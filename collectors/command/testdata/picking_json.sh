#!/bin/sh
# An event picking test that passed: JSON with the values of schemas/command/event_picking.json, one nested, and a member nobody declares.
cat <<'JSON'
{"events_requested": 50, "events_found": 48, "passed": false, "state": "done",
 "timing": {"pick_seconds": 2.25}, "undeclared_member": "not read"}
JSON
