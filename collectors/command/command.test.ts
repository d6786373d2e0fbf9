import { mkdirSync, readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { Config } from '../../lib/config/config';
import { PROJECT_ROOT } from '../../lib/config/paths';
import { collectedDocuments } from '../../lib/run/collector';
import type { MonitDocument } from '../../lib/documents/types';
import { collectorContext, type TestContext } from '../../test/support/collectorContext';
import { readmeDisagreements } from '../../test/support/readme';
import { testDir } from '../../test/support/services';
import { splitCommandLine } from './argv';
import collector from './collector';
import { PICKING_SECTION, TESTDATA } from './test/sections';
import { goneAfterWaiting, pidIn } from './test/processes';
import { commandDefinitions, FIXED_PATH } from './settings';

const SECRET = 'ei-token-7f3a9c21';

async function collect(configText: string, options: { signal?: AbortSignal } = {}): Promise<{ context: TestContext; documents: MonitDocument[] }> {
  const context = collectorContext('command', configText, options);
  const documents = collectedDocuments(await collector.collect(context));
  return { context, documents };
}

/** What `file` holds, or '' while it does not exist. */
function readFileOrEmpty(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return '';
  }
}

function statusOf(documents: MonitDocument[], name: string): MonitDocument {
  const found = documents.filter((document) => document.type === 'result' && document.command === name);
  expect(found).toHaveLength(1);
  return found[0];
}

test('JSON output gives the declared values, typed by schemas/command/event_picking.json, and an up result', async () => {
  const { context, documents } = await collect(PICKING_SECTION);
  expect(context.problems).toEqual([]);
  expect(statusOf(documents, 'picking')).toMatchObject({ producer: 'command', up: 1, exit_code: 0, values: 5, idb_tags: ['command'] });
  const output = readFileSync(path.join(TESTDATA, 'picking_json.sh'), 'utf8');
  const printed = output.slice(output.indexOf('{'), output.lastIndexOf('}') + 1);
  expect(statusOf(documents, 'picking').output_bytes).toBe(Buffer.byteLength(printed) + 1);
  const values = documents.filter((document) => document.type === 'event_picking');
  expect(values).toHaveLength(1);
  expect(values[0]).toMatchObject({ producer: 'command', command: 'picking', timestamp: context.slotMs, events_requested: 50, events_found: 48, pick_seconds: 2.25, passed: false, state: 'done' });
  expect(values[0].idb_fields).toEqual(['events_requested', 'events_found', 'pick_seconds', 'passed', 'state']);
  expect(values[0]).not.toHaveProperty('undeclared_member');
});

test('key=value lines give the declared values (the last line of a key wins); without a schema numbers stay numbers', async () => {
  const { context, documents } = await collect(`
[command.nightly]
command = ${TESTDATA}/key_value.sh
output = key_value
fields = tests_run, tests_failed, state:string, ok:bool
`);
  expect(context.problems).toEqual([]);
  expect(statusOf(documents, 'nightly')).toMatchObject({ up: 1, exit_code: 0, values: 4 });
  const [values] = documents.filter((document) => document.type === 'nightly');
  expect(values).toMatchObject({ command: 'nightly', tests_run: 412, tests_failed: 3, state: 'failed tests', ok: true, idb_tags: ['command'] });
  expect(values).not.toHaveProperty('compiler');
});

test('a failing command is up=0 with its exit code and the end of its stderr, its secret masked, and no values', async () => {
  const { context, documents } = await collect(`
[command.failing]
command = ${TESTDATA}/fail.sh
output = key_value
fields = anything
secret.EI_TOKEN = ${SECRET}
[command.fine]
command = /bin/true
`);
  const status = statusOf(documents, 'failing');
  expect(status).toMatchObject({ up: 0, error_class: 'exit', exit_code: 3, output_bytes: 'partial output\n'.length });
  // The secret reached the script (it printed it) and was masked on the way out.
  expect(status.reason).toBe('exit code 3; stderr: connecting to the EventIndex server | authentication with token *** refused');
  expect(documents.some((document) => document.type === 'failing')).toBe(false);
  expect(statusOf(documents, 'fine')).toMatchObject({ up: 1, exit_code: 0 });
  expect(context.problems).toEqual([expect.stringContaining("command 'failing'")]);
  expect(JSON.stringify([documents, context.problems, context.log.lines])).not.toContain(SECRET);
});

test('a null value is left out without a problem, as SQL NULL and JSON null in web; all null is a mapping failure', async () => {
  const { documents, context } = await collect(`[command.some_null]
command = /bin/echo '{"events": null, "state": "done"}'
output = json
fields = events, state:string
[command.all_null]
command = /bin/echo '{"events": null}'
output = json
fields = events
`);
  expect(statusOf(documents, 'some_null')).toMatchObject({ up: 1, values: 1 });
  expect(documents.find((document) => document.type === 'some_null')).toMatchObject({ state: 'done', idb_fields: ['state'] });
  expect(statusOf(documents, 'all_null')).toMatchObject({ up: 0, error_class: 'mapping', reason: 'no declared value could be read: null: events' });
  expect(context.problems.filter((problem) => problem.includes('some_null'))).toEqual([]);
});

test('a long stderr is cut to its last 200 characters, after an ellipsis', async () => {
  const line = 'x'.repeat(150);
  const { documents } = await collect(`[command.noisy]\ncommand = /bin/sh -c "echo start-${line} >&2\\; echo end-${line} >&2\\; exit 1"\n`);
  const reason = String(statusOf(documents, 'noisy').reason);
  const text = `start-${line} | end-${line}`;
  expect(reason).toBe(`exit code 1; stderr: …${text.slice(-200)}`);
});

test('a command killed by a signal it did not get from us is up=0 exit, without an exit code', async () => {
  const { documents } = await collect(`[command.killed]\ncommand = /bin/sh -c "echo dying >&2\\; kill -TERM $$"\n`);
  const result = statusOf(documents, 'killed');
  expect(result).toMatchObject({ up: 0, error_class: 'exit', reason: 'killed by SIGTERM; stderr: dying' });
  expect(result).not.toHaveProperty('exit_code');
});

test('a command hanging past its timeout is killed with the child it started, and is up=0 timeout; the others still run', async () => {
  const pidFile = path.join(testDir('command-hang'), 'child.pid');
  const { context, documents } = await collect(`
[command]
concurrency = 2
[command.hanging]
command = ${TESTDATA}/hang.sh ${pidFile}
timeout = 1s
[command.quick]
command = ${TESTDATA}/key_value.sh
`);
  const status = statusOf(documents, 'hanging');
  expect(status).toMatchObject({ up: 0, error_class: 'timeout' });
  expect(status).not.toHaveProperty('exit_code');
  expect(status.reason).toBe('killed at its timeout of 1000 ms, with its children; stderr: started child ' + pidIn(pidFile));
  expect(Number(status.duration_ms)).toBeGreaterThanOrEqual(1000);
  expect(await goneAfterWaiting(pidFile)).toBe(true);
  expect(statusOf(documents, 'quick')).toMatchObject({ up: 1 });
  expect(context.log.lines).toContainEqual("WARN command 'hanging': killed with its children at its timeout of 1000 ms");
});

test("the job's deadline kills a running command with its children and starts no other: collect ends, reporting them aborted", async () => {
  const pidFile = path.join(testDir('command-deadline'), 'child.pid');
  const controller = new AbortController();
  const collecting = collect(
    `
[command]
concurrency = 1
[command.hanging]
command = ${TESTDATA}/hang.sh ${pidFile}
timeout = 3m
[command.queued]
command = /bin/true
`,
    { signal: controller.signal },
  );
  // The deadline passes once the script has started its child (it wrote the pid file).
  for (let attempt = 0; attempt < 200 && !readFileOrEmpty(pidFile); attempt += 1) await new Promise((resolve) => setTimeout(resolve, 25));
  controller.abort(new Error('deadline'));
  const { documents } = await collecting;
  expect(statusOf(documents, 'hanging')).toMatchObject({ up: 0, error_class: 'aborted', reason: expect.stringMatching(/^killed at the job's deadline/) });
  expect(statusOf(documents, 'queued')).toMatchObject({ up: 0, error_class: 'aborted', duration_ms: 0, reason: "not started: the job's deadline had passed" });
  expect(await goneAfterWaiting(pidFile)).toBe(true);
});

test('a command that exits leaving a child that holds its output does not hold up the run, and the child is killed', async () => {
  const pidFile = path.join(testDir('command-background'), 'child.pid');
  const { documents } = await collect(`[command.leaves_child]\ncommand = ${TESTDATA}/background.sh ${pidFile}\ntimeout = 3m\noutput = key_value\nfields = state:string\n`);
  expect(statusOf(documents, 'leaves_child')).toMatchObject({ up: 1, exit_code: 0, values: 1 });
  expect(documents.find((document) => document.type === 'leaves_child')).toMatchObject({ state: 'left a child behind' });
  expect(await goneAfterWaiting(pidFile)).toBe(true);
});

test('malformed JSON, a line that is not key=value and an oversized output are up=0 malformed, with the reason', async () => {
  const { context, documents } = await collect(`
[command.cut_short]
command = ${TESTDATA}/malformed.sh
output = json
fields = events_found
[command.chatter]
command = /bin/echo "this is not a key value line"
output = key_value
fields = x
[command.runaway]
command = ${TESTDATA}/runaway.sh
output = json
fields = x
max_output_bytes = 1000
`);
  expect(statusOf(documents, 'cut_short')).toMatchObject({ up: 0, error_class: 'malformed', exit_code: 0, reason: expect.stringMatching(/^stdout is not JSON: /) });
  expect(statusOf(documents, 'chatter')).toMatchObject({ up: 0, error_class: 'malformed', reason: 'line 1 is not key=value: "this is not a key value line"' });
  expect(statusOf(documents, 'runaway')).toMatchObject({ up: 0, error_class: 'malformed', output_bytes: 200000, reason: 'printed 200000 bytes, more than max_output_bytes = 1000: not read' });
  expect(documents.filter((document) => document.type !== 'result')).toEqual([]);
  expect(context.problems).toHaveLength(3);
});

test('values missing or not of their schema type are left out and reported; none at all is up=0 mapping', async () => {
  const { context, documents } = await collect(`
[command.partly]
command = ${TESTDATA}/wrong_types.sh
output = json
measurement = event_picking
fields = events_requested, events_found, pick_seconds, passed:bool, state:string
[command.nothing]
command = /bin/echo {}
output = json
fields = events
`);
  expect(statusOf(documents, 'partly')).toMatchObject({ up: 1, values: 2 });
  const [values] = documents.filter((document) => document.type === 'event_picking');
  expect(values).toMatchObject({ pick_seconds: 1, state: 'done', idb_fields: ['pick_seconds', 'state'] });
  expect(context.problems.filter((problem) => problem.startsWith("command 'partly'"))).toEqual([
    "command 'partly': value 'events_requested': 2.5 is not an integer: left out",
    `command 'partly': value 'events_found': "many" is not a number: left out`,
    "command 'partly': value 'passed': $.passed matches nothing: left out",
  ]);
  expect(statusOf(documents, 'nothing')).toMatchObject({ up: 0, error_class: 'mapping', reason: "no declared value could be read: 'events': $.events matches nothing" });
  expect(documents.some((document) => document.type === 'nothing')).toBe(false);
});

test('the child gets only the configured environment, the fixed PATH and its working directory; a secret it prints is masked', async () => {
  const directory = testDir('command-directory');
  const { context, documents } = await collect(`
[command]
environment = LANG=C.UTF-8
[command.env_check]
command = ${TESTDATA}/environment.sh
directory = ${directory}
output = key_value
fields = directory:string, variables, PATH:string, LANG:string, GREETING:string, HOME:string, EI_TOKEN:string
environment = GREETING=hello world
secret.EI_TOKEN = ${SECRET}
`);
  const [values] = documents.filter((document) => document.type === 'env_check');
  // PATH, LANG, GREETING, EI_TOKEN, and PWD that sh sets itself; none of this test's own (HOME, USER...).
  expect(values).toMatchObject({ directory: realpathSync(directory), variables: 5, PATH: FIXED_PATH, LANG: 'C.UTF-8', GREETING: 'hello world' });
  expect(values).not.toHaveProperty('HOME');
  // It got the secret, and printed it: masked in the document.
  expect(values).toMatchObject({ EI_TOKEN: '***' });
  expect(context.problems).toEqual(["command 'env_check': value 'HOME': no HOME=... line: left out"]);
  expect(JSON.stringify(documents)).not.toContain(SECRET);
});

test('the working directory is var/state/command by default; a missing one or a missing program is up=0 local', async () => {
  const { context, documents } = await collect(`
[command.where]
command = /bin/pwd
[command.no_directory]
command = /bin/pwd
directory = var/test/no/such/directory
[command.no_program]
command = ${TESTDATA}/no_such_script.sh
`);
  expect(statusOf(documents, 'where')).toMatchObject({ up: 1, output_bytes: Buffer.byteLength(`${realpathSync(context.stateDir)}\n`) });
  expect(statusOf(documents, 'no_directory')).toMatchObject({ up: 0, error_class: 'local', reason: `its working directory ${path.join(PROJECT_ROOT, 'var/test/no/such/directory')} does not exist` });
  expect(statusOf(documents, 'no_program')).toMatchObject({ up: 0, error_class: 'local', reason: `cannot run ${TESTDATA}/no_such_script.sh: no such program` });
});

test('shell = true runs the line with /bin/sh -c; without it, shell characters are plain arguments', async () => {
  const { documents } = await collect(`
[command.piped]
command = echo "count=$(echo a b c | wc -w)"
shell = true
output = key_value
fields = count
[command.literal]
command = /bin/echo "count=$(echo a)" '|' wc
output = key_value
fields = count:string
`);
  expect(documents.find((document) => document.type === 'piped')).toMatchObject({ count: 3 });
  expect(documents.find((document) => document.type === 'literal')).toMatchObject({ count: '$(echo a) | wc' });
});

test('the command line is split into words by the documented rule', () => {
  expect(splitCommandLine(`/opt/probe  --site CERN\t"two words" 'it''s' a"b c"d "" "say \\"hi\\" \\\\ \\n"`)).toEqual({
    words: ['/opt/probe', '--site', 'CERN', 'two words', 'its', 'ab cd', '', 'say "hi" \\ \\n'],
  });
  expect(splitCommandLine(`'$HOME' * | > ~`)).toEqual({ words: ['$HOME', '*', '|', '>', '~'] });
  // Through config.cfg: ; and # are written \; and \#, else they start a comment.
  const [fromConfig] = commandDefinitions(Config.parse('[command.a]\ncommand = /bin/echo "a b"\\;c \\#d ; a comment\n'));
  expect(fromConfig.argv).toEqual(['/bin/echo', 'a b;c', '#d']);
  expect(splitCommandLine('probe "unclosed')).toEqual({ problem: 'the double quote at character 7 is never closed' });
  expect(splitCommandLine("probe 'unclosed")).toEqual({ problem: 'the single quote at character 7 is never closed' });
});

test('config mistakes are ConfigErrors naming the section and key', () => {
  const parse = (text: string): unknown => commandDefinitions(Config.parse(text, 'command.cfg'));
  expect(() => parse('[command]\ntimeout = 1m')).toThrow(/command\.cfg: no \[command\.NAME\] section/);
  expect(() => parse('[command.a]\ncommand = /bin/echo "unclosed')).toThrow(`command.cfg: [command.a] command cannot be split into words: the double quote at character 11 is never closed`);
  expect(() => parse('[command]\nenvironment = A=1\n[command.environment]\ncommand = /bin/true')).toThrow("command.cfg: [command.environment]: 'environment' is a key of [command]");
  expect(() => parse('[command.a]\nshell = true')).toThrow('command.cfg: [command.a] command is missing');
  expect(() => parse('[command.a]\ncommand = /bin/true\ntimeout = 10m')).toThrow(/\[command\.a\] timeout \(600s\) must be shorter than the job's deadline/);
  // 5 commands, 2 at a time: 3 rounds of up to 3m each = 9m, past the 8m deadline; 4 commands (6m) fit.
  const many = (count: number): string => `[command]\nconcurrency = 2\ntimeout = 3m\n` + Array.from({ length: count }, (_, index) => `[command.c${index}]\ncommand = /bin/true\n`).join('');
  expect(() => parse(many(5))).toThrow(/\[command\] deadline \(480s\) leaves no time for the worst case: 5 commands, 2 at a time, the longest timeout 180s, take up to 540s/);
  expect(() => parse(many(4))).not.toThrow();
  // Two commands writing one measurement without a schema must give a field one type (InfluxDB refuses a change).
  expect(() => parse('[command.a]\ncommand = /bin/true\noutput = json\nfields = state\nmeasurement = shared\n[command.b]\ncommand = /bin/true\noutput = json\nfields = state:string\nmeasurement = shared\n')).toThrow(
    "[command.b] fields: 'state' is string here but number in [command.a], and both write command/shared",
  );
  expect(() => parse('[command.a]\ncommand = /bin/true\noutput = xml')).toThrow(/\[command\.a\] output must be one of none, json, key_value, got "xml"/);
  expect(() => parse('[command.a]\ncommand = /bin/true\noutput = json')).toThrow(/\[command\.a\] fields is missing/);
  expect(() => parse('[command.a]\ncommand = /bin/true\nfields = x')).toThrow(/\[command\.a\] fields needs output = json or key_value/);
  expect(() => parse('[command.a]\ncommand = /bin/true\nmeasurement = result')).toThrow(/'result' is reserved/);
  expect(() => parse('[command.a]\ncommand = /bin/true\nenvironment = 1X=2')).toThrow(/\[command\.a\] environment has '1X', not an environment variable name/);
  expect(() => parse('[command.a]\ncommand = /bin/true\noutput = json\nfields = x\njson.y = $.y')).toThrow(/\[command\.a\] json\.y: 'y' is not listed in fields/);
  // A field the schema does not know, or of another kind, is refused when the config is read.
  expect(() => parse('[command.a]\ncommand = /bin/true\noutput = json\nmeasurement = event_picking\nfields = events_found, warnings')).toThrow(
    "[command.a] fields: 'warnings' is not a field of schemas/command/event_picking.json (fields: events_requested, events_found, pick_seconds, passed, state)",
  );
  expect(() => parse('[command.a]\ncommand = /bin/true\noutput = json\nmeasurement = event_picking\nfields = passed:string')).toThrow(
    "[command.a] fields: 'passed' is declared string but schemas/command/event_picking.json says bool",
  );
});

test('a relative program path is relative to the project root; [command] defaults apply to every command', () => {
  const [picking, other] = commandDefinitions(
    Config.parse('[command]\ntimeout = 20s\noutput = key_value\nenvironment = A=1, B=2\n[command.picking]\ncommand = collectors/command/demo/event_picking.sh --events 5\nfields = x\nenvironment = B=3\n[command.other]\ncommand = true\nfields = y\noutput = json\n'),
  );
  expect(picking).toMatchObject({ argv: [path.join(PROJECT_ROOT, 'collectors/command/demo/event_picking.sh'), '--events', '5'], timeoutMs: 20_000, output: 'key_value', environment: { PATH: FIXED_PATH, A: '1', B: '3' } });
  expect(other).toMatchObject({ argv: ['true'], output: 'json', directory: undefined, maxOutputBytes: 1024 * 1024 });
});

test('the quickstart demo scripts give their documents', async () => {
  const quickstart = readFileSync(path.join(__dirname, 'quickstart.cfg'), 'utf8');
  mkdirSync(path.join(PROJECT_ROOT, 'var', 'test'), { recursive: true });
  const { context, documents } = await collect(quickstart);
  expect(context.problems).toEqual([]);
  expect(documents.filter((document) => document.type === 'result').map((document) => [document.command, document.up])).toEqual([['event_picking', 1], ['nightly_build', 1]]);
  expect(documents.find((document) => document.type === 'event_picking')).toMatchObject({ events_requested: 100, pick_seconds: 1.5, state: 'done' });
  expect(documents.find((document) => document.type === 'nightly_build')).toMatchObject({ tests_run: 412, tests_failed: 0, state: 'ok' });
});

test('sample.cfg, uncommented, is a working config', () => {
  const sample = readFileSync(path.join(__dirname, 'sample.cfg'), 'utf8').replace(/^;(?=\[|[\w.]+ =)/gm, '');
  const [command] = commandDefinitions(Config.parse(sample, 'sample.cfg'));
  expect(command).toMatchObject({
    name: 'event_picking',
    argv: [path.join(PROJECT_ROOT, 'collectors/command/demo/event_picking.sh'), '--events', '100', '--label=nightly test'],
    timeoutMs: 120_000,
    output: 'json',
    measurement: 'event_picking',
    maxOutputBytes: 1048576,
    directory: path.join(PROJECT_ROOT, 'var/state/command'),
    environment: { PATH: FIXED_PATH, LANG: 'C.UTF-8', EI_SERVER: 'https://eventindex.example.org', EI_TOKEN: 'change-me' },
  });
  expect([...(command.jsonPaths ?? [])]).toEqual([
    ['events_requested', '$.events_requested'],
    ['events_found', '$.events_found'],
    ['pick_seconds', '$.timing.pick_seconds'],
    ['passed', '$.passed'],
    ['state', '$.state'],
  ]);
});

test('the README lists every tag and field of command/result and command/event_picking', () => {
  expect(readmeDisagreements(path.join(__dirname, 'README.md'), [{ producer: 'command', type: 'result' }, { producer: 'command', type: 'event_picking' }])).toEqual([]);
});
