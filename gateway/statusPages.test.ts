import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { chromium } from 'playwright-core';
import { Config } from '../lib/config/config';
import { PROJECT_ROOT } from '../lib/config/paths';
import type { GatewayPages } from '../lib/http/pages';
import { influxClientFrom } from '../lib/influx/settings';
import { MemoryLogger } from '../lib/run/log';
import { statusPages, statusPagesFromConfig } from '../status/pages';
import { loadStatusSettings } from '../status/settings';
import { getPage } from '../test/support/pages';
import { freePort } from '../test/support/ports';
import { startInfluxDB, type TestInfluxDB } from '../test/support/services';
import { startGatewayFromConfig } from './fromConfig';
import type { RunningGateway } from './server';

let influx: TestInfluxDB;
beforeAll(async () => {
  influx = await startInfluxDB();
});
afterAll(async () => {
  await influx?.stop();
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const TOKEN = 'secret-token';

/** A config of its own folder: the gateway on a free port in front of the test InfluxDB, then `rest`. */
async function writeConfig(prefix: string, rest: string): Promise<{ dir: string; file: string; port: number; base: string }> {
  const dir = mkdtempSync(path.join(PROJECT_ROOT, 'var', 'test', prefix));
  const port = await freePort();
  const file = path.join(dir, 'config.cfg');
  writeFileSync(file, `[paths]\nvar = ${dir}\n[monit]\nurl = http://127.0.0.1:${port}/\n[gateway]\nlisten = 127.0.0.1:${port}\ntoken = ${TOKEN}\n[influxdb]\nurl = ${influx.url}\n${rest}`);
  return { dir, file, port, base: `http://127.0.0.1:${port}` };
}

async function post(base: string, documents: object[], urlPath = '/'): Promise<Response> {
  return fetch(`${base}${urlPath}`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(documents) });
}

/** Stores one probe point through the gateway and reads it back from InfluxDB. */
async function ingestionWorks(base: string, value: number): Promise<void> {
  const stored = await post(base, [{ producer: 'free-producer', type: 'probe', timestamp: Date.UTC(2026, 10, 22, 10) + value, idb_tags: ['name'], name: 'a', value }]);
  expect(stored.status).toBe(200);
  const rows = await influx.client.rows(`SELECT "value" FROM "probe" WHERE "value" = ${value}`, { database: 'monit_production_free_producer' });
  expect(rows).toEqual([expect.objectContaining({ value })]);
}

/** Every status page of module `module`. */
const everyPage = (module: string): string[] => ['/status', '/status.json', `/status/module/${module}`, `/status/module/${module}.json`, `/status/badge/${module}.svg`, `/status/badge/${module}.json`];

function svgTitle(svg: string): string {
  expect(XMLValidator.validate(svg)).toBe(true);
  return String((new XMLParser().parse(svg) as { svg: { title: string } }).svg.title);
}

/** The text of the element `id` of an HTML page, its entities decoded (the page escapes every message). */
function htmlText(html: string, id: string): string {
  const inner = new RegExp(`<(\\w+)[^>]* id="${id}"[^>]*>([^<]*)</\\1>`).exec(html)?.[2];
  if (inner === undefined) throw new Error(`no element #${id} in ${html}`);
  const entities: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" };
  return inner.replace(/&(amp|lt|gt|quot|#39);/g, (_, name: string) => entities[name]);
}

/** What a page answering 503 says is wrong, whatever its format. */
function problemOf(contentType: string, body: string): string {
  if (contentType.startsWith('image/svg+xml')) return svgTitle(body);
  if (contentType.startsWith('text/html')) return htmlText(body, 'problem');
  if (contentType.startsWith('application/json')) {
    // A page's error, or a badge's label and message.
    const json = JSON.parse(body) as { error?: string; label?: string; message?: string };
    return json.error ?? `${json.label}: ${json.message}`;
  }
  return body;
}

const BROKEN_RULES = [
  {
    case: 'a rule reading a field it does not list',
    rules: `[status.module.web]\nunavailable = latest(nonexistent_field) == 0\n`,
    // What every text page and JSON says, and the place a badge names.
    text: /config\.cfg:\d+: \[status\.module\.web\] unavailable: reads 'nonexistent_field'/,
    badge: /^status: rules broken \(config\.cfg:\d+\)$/,
  },
  {
    case: 'a default rules file that does not exist',
    rules: `[status]\ndefault_rules = missing-rules.cfg\n`,
    text: /config\.cfg:\d+: \[status\] default_rules: cannot read missing-rules\.cfg: no such file/,
    badge: /^status: rules broken \(config\.cfg:\d+\)$/,
  },
];

test.each(BROKEN_RULES)('./run.sh gateway with $case still ingests, and every status page answers 503 saying what is wrong', async ({ rules, text, badge }) => {
  const { dir, file, base } = await writeConfig('gateway-rules-', rules);
  // --debug: the gateway echoes its log lines on stderr (off the terminal they go to its log file only).
  const gateway = spawn(process.execPath, [path.join(PROJECT_ROOT, 'dist', 'cli', 'main.js'), 'gateway', '--config', file, '--debug'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  gateway.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  try {
    for (let tries = 0; tries < 300 && !(await fetch(`${base}/ping`).then((response) => response.ok, () => false)); tries += 1) await sleep(100);
    expect((await fetch(`${base}/ping`)).status).toBe(200);
    await ingestionWorks(base, 7);
    for (const page of everyPage('web')) {
      const answer = await fetch(`${base}${page}`);
      const body = await answer.text();
      expect({ page, status: answer.status }).toEqual({ page, status: 503 });
      expect(answer.headers.get('retry-after')).toBe('15');
      const problem = problemOf(answer.headers.get('content-type') ?? '', body);
      if (page.startsWith('/status/badge/')) expect(problem).toMatch(badge);
      else expect(problem).toMatch(text);
      // What a browser shows: a page saying what to do, which reloads itself until the rules are fixed.
      if (page === '/status' || page === '/status/module/web') {
        expect(answer.headers.get('content-type')).toBe('text/html; charset=utf-8');
        expect(body).toContain('<meta http-equiv="refresh" content="15">');
        expect(htmlText(body, 'todo')).toBe('Fix config.cfg: the pages come back within 15 s; the status job fails until then. Ingestion goes on.');
        // Self-contained: nothing fetched from elsewhere.
        expect(body).not.toMatch(/<script|<link|src=|href=/);
      }
      // The page names files without their folders (the log has the whole path).
      expect(body).not.toContain(dir);
    }
    expect((await fetch(`${base}/status/badge/web.svg`)).headers.get('content-type')).toBe('image/svg+xml');
    // Ingestion after the pages were asked, too.
    await ingestionWorks(base, 8);
    expect(stderr).toMatch(/status pages unavailable, ingestion goes on/);
  } finally {
    gateway.kill('SIGTERM');
    await new Promise((resolve) => gateway.once('exit', resolve));
  }
});

test('the 503 page while the rules are broken escapes the message it shows', async () => {
  const { file } = await writeConfig('gateway-escape-', `[status]\ndefault_rules = <b>rules</b> & "more".cfg\n`);
  const pages = statusPagesFromConfig(Config.load(file), new MemoryLogger('gateway'));
  for (const page of ['/status', '/status/module/web']) {
    const answer = await getPage(pages, page);
    expect(answer.status).toBe(503);
    expect(answer.body).not.toContain('<b>');
    expect(answer.body).toContain('&lt;b&gt;rules&lt;/b&gt; &amp; &quot;more&quot;.cfg');
    expect(htmlText(answer.body, 'problem')).toMatch(/default_rules: cannot read <b>rules<\/b> & "more"\.cfg/);
  }
});

/** Rules of one module, whose title needs escaping in HTML and XML. */
const oneModule = (name: string): string =>
  `[status]\ndefault_rules =\n[status.module.${name}]\ntitle = Web <portal> & "co"\nmeasurement = web/probe\nfields = up\nunavailable = latest(up) == 0\nunavailable_reason = down\n`;

test('the real gateway from config: a fixed rules file brings every status page back at the next reload, not before', async () => {
  const broken = `[status]\ndefault_rules =\n[status.module.portal]\nmeasurement = web/probe\nfields = up\ndegraded = median(up) > 1\ndegraded_reason = x\n`;
  const { file, base } = await writeConfig('gateway-fix-', broken);
  let clock = Date.now();
  const config = Config.load(file);
  const log = new MemoryLogger('gateway');
  const gateway = await startGatewayFromConfig(config, { pages: statusPagesFromConfig(config, log, { now: () => clock }), log });
  try {
    const statuses = async (): Promise<number[]> => Promise.all(everyPage('portal').map(async (page) => (await fetch(`${base}${page}`)).status));
    expect(await statuses()).toEqual([503, 503, 503, 503, 503, 503]);
    expect(log.lines.join('\n')).toMatch(/unknown function 'median'/);
    writeFileSync(file, readConfigHead(file) + oneModule('portal'));
    clock += 14_000;
    expect(await statuses()).toEqual([503, 503, 503, 503, 503, 503]);
    clock += 1_000;
    const back = await statuses();
    // The details pages are the details helper's: here only that they are no longer refused for the rules.
    expect(back.map((status, index) => (index === 2 || index === 3 ? status !== 503 : status))).toEqual([200, 200, true, true, 200, 200]);
    const svg = await fetch(`${base}/status/badge/portal.svg`);
    expect(svg.headers.get('cache-control')).toBe('no-cache');
    expect(svgTitle(await svg.text())).toBe('Web <portal> & "co": N/A');
    await ingestionWorks(base, 9);
  } finally {
    await gateway.close();
  }
});

/** The config file up to its status rules (what writeConfig wrote before `rest`). */
function readConfigHead(file: string): string {
  const text = readFileSync(file, 'utf8');
  return text.slice(0, text.indexOf('[status]'));
}

/** A raw request: what came back, body bytes included (fetch hides a body sent to a HEAD). */
function rawRequest(base: string, method: string, urlPath: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; bodyBytes: number }> {
  return new Promise((resolve, reject) => {
    const request = http.request(`${base}${urlPath}`, { method }, (response) => {
      let bodyBytes = 0;
      response.on('data', (chunk: Buffer) => (bodyBytes += chunk.length));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, bodyBytes }));
    });
    request.on('error', reject);
    request.end();
  });
}

describe('status pages of a module with stored statuses', () => {
  let gateway: RunningGateway;
  let base: string;
  let pages: GatewayPages;
  const nowMs = Date.now();
  const SLOT_MS = 600_000;
  // 400 slots (under 3 days) of states in a pattern, newest 5 minutes ago: code 0-3 as the status job writes them.
  const codes = Array.from({ length: 400 }, (_, index) => (index % 7 === 0 ? 2 : index % 11 === 0 ? 1 : index % 13 === 0 ? 3 : 0));
  const WORDS = ['available', 'degraded', 'unavailable', 'na'];

  beforeAll(async () => {
    const written = await writeConfig('gateway-badges-', oneModule('web'));
    base = written.base;
    const config = Config.load(written.file);
    const log = new MemoryLogger('gateway');
    pages = statusPages(influxClientFrom(config), loadStatusSettings(config), { now: () => nowMs });
    gateway = await startGatewayFromConfig(config, { pages, log });
    const newest = nowMs - 300_000;
    const documents = codes.map((code, index) => ({
      producer: 'monit-collectors',
      type: 'status',
      timestamp: newest - index * SLOT_MS,
      idb_tags: ['module'],
      module: 'web',
      status: WORDS[code],
      code,
      reason: `state ${code}`,
      downtime: false,
      available_slots: code === 0 ? 1 : 0,
      degraded_slots: code === 1 ? 1 : 0,
      unavailable_slots: code === 2 ? 1 : 0,
      na_slots: code === 3 ? 1 : 0,
      downtime_slots: 0,
    }));
    expect((await post(base, documents)).status).toBe(200);
  });
  afterAll(async () => {
    await gateway?.close();
  });

  test('the badges show the newest state and the 30-day availability InfluxDB gives for the stored documents', async () => {
    // Independently: up (available or degraded) over known (not N/A) slots of the last 30 days, counted by InfluxDB.
    const count = async (where: string): Promise<number> => {
      const rows = await influx.client.rows(
        `SELECT count("code") AS n FROM "status" WHERE "module" = 'web' AND ${where} AND time > ${nowMs - 30 * 86400e3}ms AND time <= ${nowMs}ms`,
        { database: 'monit_production_monit_collectors' },
      );
      return Number(rows[0]?.n ?? 0);
    };
    const up = await count('"code" <= 1');
    const known = await count('"code" <= 2');
    expect(known).toBeGreaterThan(up);
    const percent = `${(Math.floor((up / known) * 10000) / 100).toFixed(2)}%`;
    // codes[0] is the newest: 2, unavailable.
    const expected = `Unavailable · ${percent} (30d)`;
    const json = await fetch(`${base}/status/badge/web.json`);
    expect(json.status).toBe(200);
    expect(json.headers.get('cache-control')).toBe('no-cache');
    expect(await json.json()).toEqual({ schemaVersion: 1, label: 'Web <portal> & "co"', message: expected, color: '#d32f2f' });
    const svg = await fetch(`${base}/status/badge/web.svg`);
    expect(svg.headers.get('content-type')).toBe('image/svg+xml');
    expect(svgTitle(await svg.text())).toBe(`Web <portal> & "co": ${expected}`);
  });

  test('an unknown module, asset or page answers 404 saying why; names are decoded after the path is split', async () => {
    const cases: Array<[string, RegExp]> = [
      // A badge is still a badge (SVG, or shields' JSON), so an embedded one shows the mistake.
      ['/status/badge/nothere.svg', /^status: unknown module nothere$/],
      ['/status/badge/no%20such.json', /^status: unknown module no such$/],
      ['/status/badge/a%2Fb.svg', /^status: unknown module a\/b$/],
      ['/status/badge/%3Cb%3E%26.svg', /^status: unknown module <b>&$/],
      ['/status/module/nothere', /^no module 'nothere'/],
      ['/status/module/web%2F..%2Fx.json', /^no module 'web\/..\/x'/],
      ['/status/assets/nothere.js', /^no asset 'nothere\.js'/],
      ['/status/badge/web.png', /a badge is \/status\/badge\/<module>\.svg or \/status\/badge\/<module>\.json/],
      ['/status/module/%E0%A4%A', /'%E0%A4%A' is not valid percent-encoding/],
      ['/status/elsewhere/web', /^no status page \/status\/elsewhere\/web/],
      ['/status/badge/web.svg/more', /^no status page/],
    ];
    for (const [page, message] of cases) {
      const answer = await fetch(`${base}${page}`);
      expect({ page, status: answer.status }).toEqual({ page, status: 404 });
      const type = answer.headers.get('content-type') ?? '';
      const badge = /^\/status\/badge\/.*\.(svg|json)$/.exec(page)?.[1];
      expect(type).toBe(badge === 'svg' ? 'image/svg+xml' : badge === 'json' ? 'application/json' : 'text/plain; charset=utf-8');
      expect(problemOf(type, await answer.text())).toMatch(message);
      expect((await getPage(pages, page)).status).toBe(404);
    }
  });

  test('a page route never carries a module name, so /metrics keeps few label values', async () => {
    const names = ['secretone', 'secret two', 'secret%2Fthree'];
    for (const name of names) for (const page of [...everyPage(name), `/status/assets/${name}.js`, `/status/${name}/x`, `/${name}`]) await fetch(`${base}${page}`);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).not.toMatch(/secret/);
    const paths = new Set([...metrics.matchAll(/path="([^"]*)"/g)].map((match) => match[1]));
    expect([...paths].sort()).toEqual(
      ['/status', '/status.json', '/status/*', '/status/assets/:file', '/status/badge/:module.json', '/status/badge/:module.svg', '/status/module/:module', '/status/module/:module.json', 'ingest', 'unknown page'].sort(),
    );
  });

  test('HEAD answers like GET without a body; POST to a page is 405; / leads to /status', async () => {
    for (const page of ['/status', '/status/badge/web.svg', '/status/badge/nothere.svg']) {
      const head = await rawRequest(base, 'HEAD', page);
      const get = await rawRequest(base, 'GET', page);
      expect({ page, status: head.status, type: head.headers['content-type'], bodyBytes: head.bodyBytes }).toEqual({ page, status: get.status, type: get.headers['content-type'], bodyBytes: 0 });
      expect(get.bodyBytes).toBeGreaterThan(0);
    }
    const postToBadge = await post(base, [], '/status/badge/web.svg');
    expect(postToBadge.status).toBe(405);
    expect(postToBadge.headers.get('allow')).toBe('GET, HEAD');
    const root = await fetch(`${base}/`, { redirect: 'manual' });
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/status');
  });

  test('embedded in a page in headless Chromium, a badge draws as an image, also while the rules are broken (503)', async () => {
    const { file, base: brokenBase } = await writeConfig('gateway-embed-', `[status]\ndefault_rules = missing-rules.cfg\n`);
    const config = Config.load(file);
    const log = new MemoryLogger('gateway');
    const broken = await startGatewayFromConfig(config, { pages: statusPagesFromConfig(config, log), log });
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    try {
      const page = await browser.newPage();
      const sources = { live: `${base}/status/badge/web.svg`, broken: `${brokenBase}/status/badge/web.svg`, unknown: `${base}/status/badge/nothere.svg` };
      // As a wiki embeds it: a plain <img> in someone else's page.
      await page.setContent(Object.entries(sources).map(([name, source]) => `<img id="${name}" src="${source}">`).join('\n'), { waitUntil: 'load' });
      // The width the SVG declares, and the width the browser drew (0 for an image it could not draw).
      const declared = async (source: string): Promise<number> => Number(/<svg[^>]* width="(\d+)"/.exec(await (await fetch(source)).text())?.[1]);
      const drawn = (id: string): Promise<number> => page.locator(`#${id}`).evaluate((image) => (image as unknown as { naturalWidth: number }).naturalWidth);
      expect((await fetch(sources.broken)).status).toBe(503);
      expect(await drawn('live')).toBe(await declared(sources.live));
      expect(await drawn('broken')).toBe(await declared(sources.broken));
      expect(await drawn('broken')).toBeGreaterThan(0);
      // A mistyped module draws too (a 404 badge naming it), rather than a broken image.
      expect((await fetch(sources.unknown)).status).toBe(404);
      expect(await drawn('unknown')).toBe(await declared(sources.unknown));
      expect(await drawn('unknown')).toBeGreaterThan(0);
    } finally {
      await browser.close();
      await broken.close();
    }
  }, 60_000);
});

test('a gateway without status pages answers / with 404, not a redirect', async () => {
  const { file, base } = await writeConfig('gateway-nopages-', '');
  const gateway = await startGatewayFromConfig(Config.load(file), { log: new MemoryLogger('gateway') });
  try {
    const root = await fetch(`${base}/`, { redirect: 'manual' });
    expect(root.status).toBe(404);
  } finally {
    await gateway.close();
  }
});

test('a status page that throws answers 500 for itself only: ingestion and /ping go on', async () => {
  const { file, base } = await writeConfig('gateway-throws-', '');
  const log = new MemoryLogger('gateway');
  // One page whose reading fails (as an InfluxDB read that throws), and a router that throws itself.
  const pages: GatewayPages = (url) => {
    if (url.pathname === '/status/throws') return { route: '/status/throws', answer: () => Promise.reject(new Error('InfluxDB read failed')) };
    if (url.pathname === '/status/router-throws') throw new Error('router failed');
    return undefined;
  };
  const gateway = await startGatewayFromConfig(Config.load(file), { pages, log });
  try {
    for (const page of ['/status/throws', '/status/router-throws']) {
      const answer = await fetch(`${base}${page}`);
      expect(answer.status).toBe(500);
      expect(((await answer.json()) as { error: string }).error).toMatch(/failed/);
    }
    expect((await rawRequest(base, 'HEAD', '/status/throws')).bodyBytes).toBe(0);
    expect((await fetch(`${base}/ping`)).status).toBe(200);
    await ingestionWorks(base, 11);
    expect(log.lines.join('\n')).toMatch(/InfluxDB read failed/);
  } finally {
    await gateway.close();
  }
});

test('an edit of config.cfg reaches the pages without a restart: a fixed rule ends the 503, an added module appears', async () => {
  const dir = mkdtempSync(path.join(PROJECT_ROOT, 'var', 'test', 'gateway-edit-'));
  const file = path.join(dir, 'config.cfg');
  const base = `[paths]\nvar = ${dir}\n[influxdb]\nurl = ${influx.url}\n[status]\ndefault_rules =\n`;
  const module = (name: string, field: string): string => `[status.module.${name}]\nmeasurement = web/probe\nfields = ${field}\nunavailable = latest(${field}) == 0\nunavailable_reason = down\n`;
  writeFileSync(file, base + module('portal', 'nonexistent_field'));
  let clock = Date.UTC(2026, 11, 6, 8);
  const pages = statusPagesFromConfig(Config.load(file), new MemoryLogger('gateway'), { now: () => clock });
  const modules = async (): Promise<{ status: number; names?: string[] }> => {
    const answer = await getPage(pages, '/status.json');
    return answer.status === 503 ? { status: 503 } : { status: answer.status ?? 200, names: (JSON.parse(answer.body) as { modules: Array<{ module: string }> }).modules.map((entry) => entry.module) };
  };
  expect(await modules()).toEqual({ status: 503 });
  // Fixed, with a second module; read once the retry interval has passed, not before.
  writeFileSync(file, base + module('portal', 'up') + module('search', 'up'));
  clock += 1_000;
  expect(await modules()).toEqual({ status: 503 });
  clock += 15_000;
  expect(await modules()).toEqual({ status: 200, names: ['portal', 'search'] });
  // Broken again: 503 with the new reason.
  writeFileSync(file, base + module('portal', 'up') + '[status.module.search]\nmeasurement = web/probe\nfields = up\ndegraded = median(up) > 1\ndegraded_reason = x\n');
  clock += 15_000;
  const broken = await getPage(pages, '/status.json');
  expect(broken.status).toBe(503);
  expect(broken.body).toMatch(/unknown function 'median'/);
});
