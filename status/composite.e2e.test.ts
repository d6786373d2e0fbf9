/**
 * Modules made of parts, against a real InfluxDB behind the real gateway: each module reads the
 * bookkeeping of an import (sql/query_status) and its log (logs/pattern), two measurements of two
 * producers gated by two heartbeats. Every part state is set up by data, and the module's state is
 * looked up in ARGO's AND truth table written out below, not computed by the code under test.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Config } from '../lib/config/config';
import { DocumentFactory } from '../lib/documents/document';
import { MemoryLogger } from '../lib/run/log';
import type { MonitDocument } from '../lib/documents/types';
import { useInfluxAndGateway } from '../test/support/fixtures';
import { TEST_TOKEN } from '../test/support/gateway';
import { RecordingInfluxClient } from '../test/support/recordingInfluxClient';
import { testDir } from '../test/support/services';
import type { ModuleStatus } from './evaluate';
import type { ModuleState } from './states';
import { evaluateModules, runStatus } from './job';
import { loadStatusSettings, type StatusSettings } from './settings';

const MINUTE = 60e3;
const NOW = Math.floor(Date.now() / MINUTE) * MINUTE;
/** The bookkeeping's two points and the log's two points: the log's are a minute older. */
const BOOKKEEPING_TIMES = [NOW - 15 * MINUTE, NOW - 5 * MINUTE];
const LOG_TIMES = [NOW - 16 * MINUTE, NOW - 6 * MINUTE];
/** Older than every freshness (30m). */
const OLD = NOW - 2 * 3600e3;

/**
 * What one part is made to be, through its data and heartbeat. `na-data`: a fresh heartbeat but only
 * old data; `na-heartbeat`: healthy fresh data but no heartbeat from its collector; `failed`: healthy
 * data but the collector's latest run failed; `credential`: healthy data, and the collector's heartbeat
 * reports a credential expiring within its warning.
 */
type PartCase = 'available' | 'degraded' | 'unavailable' | 'na-data' | 'na-heartbeat' | 'failed' | 'credential';

/** The state each part case must give, and its reason (for module `name`). */
function partExpectation(kind: 'bookkeeping' | 'log', partCase: PartCase, name: string): { state: ModuleState; reason: string } {
  const collector = `${kind === 'bookkeeping' ? 'sql' : 'logs'}-${name}`;
  const measurement = kind === 'bookkeeping' ? 'sql/query_status' : 'logs/pattern';
  switch (partCase) {
    case 'available':
      return { state: 'available', reason: 'all checks pass' };
    case 'degraded':
      // Bookkeeping: mean(12000, 14000); log: sum(4, 5).
      return { state: 'degraded', reason: kind === 'bookkeeping' ? `query ${name} slow: 13000 ms` : '9 import errors' };
    case 'unavailable':
      return { state: 'unavailable', reason: kind === 'bookkeeping' ? `query ${name} fails` : 'no import for 9000 s' };
    case 'na-data':
      return { state: 'na', reason: `no data in ${measurement} in the last 30m` };
    case 'na-heartbeat':
      return { state: 'na', reason: `no heartbeat from collector ${collector} in the last 30m` };
    case 'failed':
      return { state: 'unavailable', reason: `collector ${collector} failed: import database refused the connection` };
    case 'credential':
      // Reported 3 minutes ago with 5h 10m left.
      return { state: 'degraded', reason: `bearer token of ${collector} expires in 5h` };
  }
}

/** ARGO's AND (ARGOeu/argo-streaming automation/default.ops.json): OK, WARNING, UNKNOWN, CRITICAL as available, degraded, na, unavailable. */
const ARGO_AND: Record<string, ModuleState> = {
  'available available': 'available',
  'available degraded': 'degraded',
  'available na': 'na',
  'available unavailable': 'unavailable',
  'degraded degraded': 'degraded',
  'degraded na': 'na',
  'degraded unavailable': 'unavailable',
  'na na': 'na',
  'na unavailable': 'unavailable',
  'unavailable unavailable': 'unavailable',
};
const and = (a: ModuleState, b: ModuleState): ModuleState => ARGO_AND[`${a} ${b}`] ?? ARGO_AND[`${b} ${a}`];

/** The modules: their bookkeeping part's case and their log part's case. */
const CASES: Record<string, [PartCase, PartCase]> = {
  all_ok: ['available', 'available'],
  sql_degraded: ['degraded', 'available'],
  log_degraded: ['available', 'degraded'],
  both_degraded: ['degraded', 'degraded'],
  sql_down: ['unavailable', 'available'],
  log_down: ['available', 'unavailable'],
  log_no_data: ['available', 'na-data'],
  sql_no_data_log_degraded: ['na-data', 'degraded'],
  log_no_heartbeat: ['available', 'na-heartbeat'],
  sql_down_log_no_data: ['unavailable', 'na-data'],
  log_collector_failed: ['available', 'failed'],
  log_credential_expiring: ['available', 'credential'],
  sql_credential_log_down: ['credential', 'unavailable'],
};

/** The module's expected state and reason, from the table and the parts' expectations. */
function moduleExpectation(name: string): { state: ModuleState; reason: string } {
  const [bookkeepingCase, logCase] = CASES[name];
  const parts = [
    { title: 'Bookkeeping', ...partExpectation('bookkeeping', bookkeepingCase, name) },
    { title: 'Import log', ...partExpectation('log', logCase, name) },
  ];
  const state = and(parts[0].state, parts[1].state);
  const reason = state === 'available' ? 'all checks pass' : parts.filter((part) => part.state === state).map((part) => `${part.title}: ${part.reason}`).join('; ');
  return { state, reason };
}

function sections(name: string): string {
  // all_ok keeps the default collectors (its measurements' producers, sql and logs); the others have their own.
  const collector = (producer: string): string => (name === 'all_ok' ? '' : `collector = ${producer}-${name}\n`);
  return `[status.module.${name}]
title = Import ${name}
parts = ${name}_bookkeeping, ${name}_log
[status.part.${name}_bookkeeping]
title = Bookkeeping
measurement = sql/query_status
where = query_name=${name}
${collector('sql')}fields = up, duration_ms
unavailable = latest(up) == 0
unavailable_reason = query {series} fails
degraded = mean(duration_ms) > 10000
degraded_reason = query {series} slow: {value} ms
[status.part.${name}_log]
title = Import log
measurement = logs/pattern
where = pattern=${name}
${collector('logs')}fields = matches, last_match_age_s
unavailable = latest(last_match_age_s) > 7200
unavailable_reason = no import for {value} s
degraded = sum(matches) > 5
degraded_reason = {value} import errors
`;
}

/** The documents that put a part in its case: its measurement's points and its collector's heartbeat. */
function partDocuments(factory: DocumentFactory, kind: 'bookkeeping' | 'log', partCase: PartCase, name: string): MonitDocument[] {
  const job = name === 'all_ok' ? (kind === 'bookkeeping' ? 'sql' : 'logs') : `${kind === 'bookkeeping' ? 'sql' : 'logs'}-${name}`;
  const documents: MonitDocument[] = [];
  if (partCase !== 'na-heartbeat') {
    const failed = partCase === 'failed';
    const credential = partCase === 'credential' ? { credential: `bearer token of ${job}`, credential_expires_in_s: 5 * 3600 + 600, credential_expiring: true } : {};
    const heartbeat = { ok: !failed, duration_ms: 900, errors: failed ? 1 : 0, timed_out: false, message: failed ? 'import database refused the connection' : '', ...credential };
    documents.push(factory.build('monit-collectors', 'run', { job }, heartbeat, NOW - 3 * MINUTE));
  }
  const times = partCase === 'na-data' ? [OLD] : kind === 'bookkeeping' ? BOOKKEEPING_TIMES : LOG_TIMES;
  times.forEach((timeMs, index) => {
    const last = index === times.length - 1;
    if (kind === 'bookkeeping') {
      const up = partCase === 'unavailable' && last ? 0 : 1;
      const duration = partCase === 'degraded' ? [12000, 14000][index] : 2000;
      documents.push(factory.build('sql', 'query_status', { query_name: name }, { up, duration_ms: duration, rows: 10 }, timeMs));
    } else {
      const matches = partCase === 'degraded' ? [4, 5][index] : 1;
      const age = partCase === 'unavailable' && last ? 9000 : 600;
      documents.push(factory.build('logs', 'pattern', { pattern: name }, { matches, lines: 100, files: 1, last_match_age_s: age }, timeMs));
    }
  });
  return documents;
}

const servers = useInfluxAndGateway();
let settings: StatusSettings;
let statuses: ModuleStatus[];
let client: RecordingInfluxClient;

beforeAll(async () => {
  const dir = testDir('status-composite');
  const configFile = path.join(dir, 'config.cfg');
  // One more module names a part of sql_down: a shared part is read once.
  const shared = `[status.module.shared]\ntitle = Shared bookkeeping\nparts = sql_down_bookkeeping\n`;
  writeFileSync(configFile, `[paths]\nvar = ${dir}/var\n[influxdb]\nurl = ${servers.influx.url}\n[status]\ndefault_rules =\n${Object.keys(CASES).map(sections).join('')}${shared}`);
  settings = loadStatusSettings(Config.load(configFile));

  const factory = new DocumentFactory({ slotMs: NOW, host: 'composite' });
  const documents = Object.entries(CASES).flatMap(([name, [bookkeepingCase, logCase]]) => [
    ...partDocuments(factory, 'bookkeeping', bookkeepingCase, name),
    ...partDocuments(factory, 'log', logCase, name),
  ]);
  const response = await fetch(servers.gateway.url, { method: 'POST', headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(documents) });
  if (response.status !== 200) throw new Error(`gateway answered ${response.status}: ${await response.text()}`);

  client = new RecordingInfluxClient(servers.influx.url);
  statuses = await evaluateModules(client, settings, NOW);
}, 120_000);

describe('a module made of two parts, two producers and two heartbeats', () => {
  test.each(Object.keys(CASES))('%s: the state of ARGO’s AND of its parts, the reason naming the deciding parts', (name) => {
    const status = statuses.find((one) => one.module === name);
    const expected = moduleExpectation(name);
    expect(status).toMatchObject({ module: name, title: `Import ${name}`, state: expected.state, reason: expected.reason });
  });

  test('the expectations cover each state from each part, and N/A beside degraded', () => {
    const states = Object.keys(CASES).map((name) => moduleExpectation(name).state);
    expect(new Set(states)).toEqual(new Set(['available', 'degraded', 'unavailable', 'na']));
    expect(moduleExpectation('sql_no_data_log_degraded').state).toBe('na');
  });

  test('last_data_ms is the newest point of the parts that decided', () => {
    const lastData = (name: string): number | undefined => statuses.find((one) => one.module === name)?.lastDataMs;
    // Both parts decided: the bookkeeping's newest point is the newer.
    expect(lastData('all_ok')).toBe(BOOKKEEPING_TIMES[1]);
    expect(lastData('both_degraded')).toBe(BOOKKEEPING_TIMES[1]);
    // Only the log decided.
    expect(lastData('log_down')).toBe(LOG_TIMES[1]);
    expect(lastData('log_degraded')).toBe(LOG_TIMES[1]);
    // The deciding part saw no fresh data.
    expect(lastData('log_no_data')).toBeUndefined();
    expect(lastData('log_no_heartbeat')).toBeUndefined();
  });

  test('a part shared by two modules gives both the same state, and is read once: two statements per part and one for the heartbeats', () => {
    expect(statuses.find((one) => one.module === 'shared')).toMatchObject({ state: 'unavailable', reason: 'Bookkeeping: query sql_down fails' });
    const parts = Object.keys(CASES).length * 2;
    expect(client.statements).toHaveLength(1 + 2 * parts);
    expect(client.statements.filter((statement) => statement.includes(`"query_name" = 'sql_down'`))).toHaveLength(2);
  });

  test('the status job sends one status document per module, as for any module', async () => {
    const result = await runStatus({
      config: Config.parse(`[status]\n`, 'unused.cfg'),
      settings,
      influxdb: servers.influx.client,
      documents: new DocumentFactory({ slotMs: NOW, host: 'composite' }),
      log: new MemoryLogger('status'),
      stateDir: testDir('status-composite-state'),
      nowMs: NOW,
      dryRun: true,
    });
    const statusDocuments = result.documents.filter((document) => document.type === 'status');
    expect(statusDocuments.map((document) => [document.module, document.status, document.code, document.reason])).toEqual(
      [...Object.keys(CASES), 'shared'].map((name) => {
        const expected = name === 'shared' ? { state: 'unavailable', reason: 'Bookkeeping: query sql_down fails' } : moduleExpectation(name);
        return [name, expected.state, { available: 0, degraded: 1, unavailable: 2, na: 3 }[expected.state], expected.reason];
      }),
    );
  });
});
