import { mkdtempSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Config } from '../../lib/config/config';
import { PROJECT_ROOT } from '../../lib/config/paths';
import { runPeriodicJob } from '../../lib/run/jobRunner';
import { TEN_MINUTES_MS } from '../../lib/run/slot';
import { useInfluxAndGateway } from '../../test/support/fixtures';
import { TEST_TOKEN } from '../../test/support/gateway';
import collector from './collector';
import { PICKING_SECTION, TESTDATA } from './test/sections';
import { goneAfterWaiting } from './test/processes';

const servers = useInfluxAndGateway();
const SECRET = 'pipeline-secret-31d7e0';
const job = { name: 'command', periodMs: TEN_MINUTES_MS, run: collector.collect };

/** One installation: its var folder and config, sending to the test gateway. */
function installation(commands: string): { varDir: string; config: Config } {
  const varDir = mkdtempSync(path.join(PROJECT_ROOT, 'var', 'test', 'command-pipeline-'));
  const config = Config.parse(`[paths]\nvar = ${varDir}\n[monit]\nurl = ${servers.gateway.url}/\ntoken = ${TEST_TOKEN}\n[influxdb]\nurl = ${servers.influx.url}\n${commands}`, 'command.cfg');
  return { varDir, config };
}

const database = { database: 'monit_production_command' };

async function heartbeat(timeMs: number): Promise<Record<string, unknown> | undefined> {
  const rows = await servers.influx.client.rows(`SELECT * FROM "run" WHERE "job" = 'command' AND time = ${timeMs}ms`, { database: 'monit_production_monit_collectors' });
  return rows[0];
}

test('a run through the runner and the gateway lands typed in InfluxDB; a hanging command is timed out; the secret is nowhere', async () => {
  const slot = Date.UTC(2026, 10, 22, 8, 0);
  const { varDir, config } = installation(`${PICKING_SECTION}[command.failing]
command = ${TESTDATA}/fail.sh
secret.EI_TOKEN = ${SECRET}
[command.hanging]
command = ${TESTDATA}/hang.sh child.pid
timeout = 1s
`);
  const outcome = await runPeriodicJob(job, { config, deadlineMs: 60_000, timeMs: slot, echoLog: false });
  expect(outcome).toMatchObject({ ok: true, documents: 4, problems: 2 });
  // Relative to the working directory: var/state/command of this installation.
  expect(await goneAfterWaiting(path.join(varDir, 'state', 'command', 'child.pid'))).toBe(true);
  const statuses = await servers.influx.client.rows(`SELECT "up", "exit_code", "error_class", "reason" FROM "result" WHERE time = ${slot}ms GROUP BY "command"`, database);
  expect(statuses.map(({ up, exit_code, error_class }) => ({ up, exit_code, error_class }))).toEqual([
    { up: 0, exit_code: 3, error_class: 'exit' },
    { up: 0, exit_code: null, error_class: 'timeout' },
    { up: 1, exit_code: 0, error_class: null },
  ]);
  expect(await servers.influx.client.rows(`SELECT * FROM "event_picking" WHERE time = ${slot}ms`, database)).toEqual([
    { time: slot, command: 'picking', events_requested: 50, events_found: 48, pick_seconds: 2.25, passed: false, state: 'done' },
  ]);
  // The schema's types, not floats: events_found is an integer field in InfluxDB.
  const [fieldKeys] = await servers.influx.client.query('SHOW FIELD KEYS FROM "event_picking"', database);
  expect(Object.fromEntries(fieldKeys[0].values.map(([key, type]) => [key, type]))).toEqual({ events_requested: 'integer', events_found: 'integer', pick_seconds: 'float', passed: 'boolean', state: 'string' });
  expect(await heartbeat(slot)).toMatchObject({ ok: true, errors: 2, timed_out: false, documents_sent: 4 });
  const log = readFileSync(path.join(varDir, 'log', 'command.log'), 'utf8');
  expect(log).toContain('authentication with token *** refused');
  expect(JSON.stringify(statuses) + log).not.toContain(SECRET);
});

test("the job's deadline ends the run: the running command is killed with its child, the run stops and says timed_out", async () => {
  const slot = Date.UTC(2026, 10, 22, 8, 10);
  // One at a time: the first is killed at its timeout, the second is still running at the deadline. The
  // config's deadline leaves room for both (a shorter one is refused); the run is given less, as a run
  // that started late or a machine that stalled would have.
  const { varDir, config } = installation(`
[command]
deadline = 10s
concurrency = 1
[command.first]
command = ${TESTDATA}/hang.sh first.pid
timeout = 3s
[command.second]
command = ${TESTDATA}/hang.sh second.pid
timeout = 4s
`);
  const outcome = await runPeriodicJob(job, { config, deadlineMs: 5000, timeMs: slot, echoLog: false });
  expect(outcome).toMatchObject({ ok: false, timedOut: true, message: 'stopped at its deadline of 5s' });
  const stateDir = path.join(varDir, 'state', 'command');
  expect(await goneAfterWaiting(path.join(stateDir, 'first.pid'))).toBe(true);
  expect(await goneAfterWaiting(path.join(stateDir, 'second.pid'))).toBe(true);
  const log = readFileSync(path.join(varDir, 'log', 'command.log'), 'utf8').split('\n');
  const lineOf = (text: string): number => log.findIndex((line) => line.includes(text));
  const firstKilled = lineOf("command 'first': killed with its children at its timeout of 3000 ms");
  const secondKilled = lineOf("command 'second': killed with its children at the job's deadline");
  const runFailed = lineOf('run failed: stopped at its deadline of 5s');
  expect(firstKilled).toBeGreaterThanOrEqual(0);
  expect(secondKilled).toBeGreaterThan(firstKilled);
  expect(runFailed).toBeGreaterThan(secondKilled);
  expect(await heartbeat(slot)).toMatchObject({ ok: false, timed_out: true, documents_sent: 0 });
});
