import path from 'node:path';

/** The test scripts. */
export const TESTDATA = path.join(__dirname, '..', 'testdata');

/** [command.picking]: testdata/picking_json.sh read as JSON into command/event_picking, typed by its schema. */
export const PICKING_SECTION = `
[command.picking]
command = ${TESTDATA}/picking_json.sh
output = json
measurement = event_picking
fields = events_requested, events_found, pick_seconds, passed:bool, state:string
json.pick_seconds = $.timing.pick_seconds
`;
