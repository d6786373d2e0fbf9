#!/usr/bin/env node
// The EventIndex example's event picking test: asks the picking service at argv[2] for the file of
// five known events, one request each, and prints the result as JSON for the command collector
// ([command.ei_picking]: events_requested, events_found, pick_seconds, passed, state).
// It exits 0 whenever it ran to its end, events lost included (the JSON says how the test went);
// 2 when it is called wrongly. Plain Node (no build, no package): node is on every machine of this project.
const service = process.argv[2];
if (!service) {
  process.stderr.write('usage: picking-test.mjs PICKING_SERVICE_URL\n');
  process.exit(2);
}
const events = [[480001, 1001], [480001, 2002], [480002, 77], [480003, 123456], [480004, 9]];
const started = process.hrtime.bigint();
let found = 0;
for (const [run, event] of events) {
  try {
    const response = await fetch(`${service}?run=${run}&event=${event}`, { signal: AbortSignal.timeout(20_000) });
    const answer = response.ok ? await response.json() : undefined;
    if (typeof answer?.guid === 'string' && answer.guid !== '') found += 1;
  } catch {
    // a lookup that fails is an event not found
  }
}
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
const result = { events_requested: events.length, events_found: found, pick_seconds: Math.round(seconds * 1000) / 1000, passed: found === events.length, state: found === 0 ? 'failed' : 'done' };
process.stdout.write(`${JSON.stringify(result)}\n`);
