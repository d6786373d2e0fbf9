/**
 * The details pages end to end: synthetic data for every schema in raw, 1h and 1d in a real InfluxDB,
 * the shipped rules, the real gateway serving the pages, and headless Chromium drawing them with uPlot.
 * Every figure checked here is computed by the test with its own InfluxQL.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { Config } from '../lib/config/config';
import { PROJECT_ROOT } from '../lib/config/paths';
import { schemaRegistry } from '../lib/documents/schemas';
import type { InterpretedDocument } from '../lib/documents/interpret';
import { toLineProtocol } from '../lib/influx/lineProtocol';
import type { GatewayPages } from '../lib/http/pages';
import { MemoryLogger } from '../lib/run/log';
import { slotStart } from '../lib/run/slot';
import { startGateway, type RunningGateway } from '../gateway/server';
import { everyCollectorSection } from '../test/support/collectorSections';
import { writeSyntheticData } from '../test/support/dashboards/syntheticData';
import { getPage } from '../test/support/pages';
import { startInfluxDB, testDir, type TestInfluxDB } from '../test/support/services';
import type { DetailsData } from './details';
import { formatNumber, PERCENT_UNITS, SERIES_COLOURS } from './details-page';
import { LIGHT_COLOURS } from './states';
import { statusPages } from './pages';
import { loadStatusSettings, type StatusSettings } from './settings';

const MINUTE = 60e3;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const NOW = Date.now();
const STEP = 10 * MINUTE;
/** A probe name that would end the page's script if the data were not escaped. */
const EVIL = '</script><script>window.broken=1</script>';
/** More web probes than a plot shows: the page must keep the 10 with the highest last value. */
const EXTRA = Array.from({ length: 12 }, (_, index) => `extra-${String(index).padStart(2, '0')}`);
const CRAFTED_CONDITION = 'mean(latency_ms) > 35';
/** The latency of the two `twins` probes: equal at every slot, below the crafted module's threshold. */
const TWIN_LATENCY = 20;

let influx: TestInfluxDB;
let gateway: RunningGateway;
let settings: StatusSettings;
let pages: GatewayPages;
let browser: Browser;
let configFile: string;

function point(database: string, measurement: string, tags: Record<string, string>, fields: InterpretedDocument['fields'], timestampMs: number): string {
  return toLineProtocol({ database, measurement, tags, fields, timestampMs });
}

/** Raw web probes of the extra and evil series over the last 7 hours, one per 10-minute slot. */
function extraProbes(): string[] {
  const lines: string[] = [];
  const last = slotStart(NOW, STEP);
  for (let time = last - 7 * HOUR; time <= last; time += STEP) {
    const step = (last - time) / STEP;
    EXTRA.forEach((name, index) => lines.push(point('monit_production_web', 'probe', { name, url: `https://${name}.example` }, [{ name: 'up', type: 'int', value: 1 }, { name: 'latency_ms', type: 'float', value: 100 + index * 7 + (step % 5) * 1.5 }], time)));
    lines.push(point('monit_production_web', 'probe', { name: EVIL, url: 'https://evil.example' }, [{ name: 'up', type: 'int', value: 1 }, { name: 'latency_ms', type: 'float', value: 900 + (step % 3) }], time));
    for (const url of ['https://twin-a.example', 'https://twin-b.example']) {
      lines.push(point('monit_production_web', 'probe', { name: 'twins', url }, [{ name: 'up', type: 'int', value: 1 }, { name: 'latency_ms', type: 'float', value: TWIN_LATENCY }], time));
    }
  }
  // One probe of `lonely`, 2 hours ago (outside the rules' 30-minute windows): a series of one point.
  lines.push(point('monit_production_web', 'probe', { name: 'lonely', url: 'https://lonely.example' }, [{ name: 'up', type: 'int', value: 1 }, { name: 'latency_ms', type: 'float', value: 42 }], last - 2 * HOUR));
  return lines;
}

/** The little of the browser's DOM the pixel count uses (the tests compile without the DOM library). */
interface Box {
  getBoundingClientRect(): { left: number; top: number; width: number; height: number };
}
interface ChartBox {
  querySelector(selector: string): unknown;
}
interface Canvas extends Box {
  width: number;
  getContext(kind: '2d'): { getImageData(x: number, y: number, width: number, height: number): { data: Uint8ClampedArray } };
}

/** Pixels of a chart's plot area (uPlot's .u-over box) within a small distance of a colour: what a reader sees of a series. */
function colouredPixels(page: Page, plot: number, colour: string): Promise<number> {
  return page.locator(`[data-plot="${plot}"] .chart`).evaluate((element, hex) => {
    const box = element as unknown as ChartBox;
    const canvas = box.querySelector('canvas') as Canvas;
    const over = (box.querySelector('.u-over') as Box).getBoundingClientRect();
    const whole = canvas.getBoundingClientRect();
    const scale = canvas.width / whole.width;
    const pixels = canvas.getContext('2d').getImageData(
      Math.round((over.left - whole.left) * scale),
      Math.round((over.top - whole.top) * scale),
      Math.round(over.width * scale),
      Math.round(over.height * scale),
    ).data;
    const target = [1, 3, 5].map((index) => parseInt(hex.slice(index, index + 2), 16));
    let count = 0;
    for (let index = 0; index < pixels.length; index += 4) {
      const distance = Math.abs(pixels[index] - target[0]) + Math.abs(pixels[index + 1] - target[1]) + Math.abs(pixels[index + 2] - target[2]);
      if (pixels[index + 3] > 200 && distance < 40) count++;
    }
    return count;
  }, colour);
}

/** What the draw hook wrote on a chart's box: the axes' ranges (x in seconds) and the series with markers. */
async function drawnScales(page: Page, plot: number): Promise<{ xMin: number; xMax: number; yMin: number; yMax: number; markers: string | null }> {
  const chart = page.locator(`[data-plot="${plot}"] .chart`);
  const number = async (name: string): Promise<number> => Number(await chart.getAttribute(name));
  return { xMin: await number('data-x-min'), xMax: await number('data-x-max'), yMin: await number('data-y-min'), yMax: await number('data-y-max'), markers: await chart.getAttribute('data-markers') };
}

async function json(module: string, range: string): Promise<DetailsData> {
  const answer = await getPage(pages, `/status/module/${module}.json?range=${range}`);
  expect(answer.status).toBe(200);
  return JSON.parse(answer.body) as DetailsData;
}

/** Opens a page with every request recorded, and anything not on loopback refused. */
async function open(url: string, viewport = { width: 1200, height: 900 }, timezoneId?: string): Promise<{ page: Page; requests: string[]; errors: string[] }> {
  const page = await browser.newPage({ viewport, timezoneId, locale: 'en-US' });
  const requests: string[] = [];
  const errors: string[] = [];
  await page.route('**/*', (route) => (new URL(route.request().url()).hostname === '127.0.0.1' ? route.continue() : route.abort()));
  page.on('request', (request) => requests.push(request.url()));
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(url);
  await page.waitForLoadState('load');
  return { page, requests, errors };
}

beforeAll(async () => {
  mkdirSync(path.join(PROJECT_ROOT, 'var', 'test-artifacts'), { recursive: true });
  influx = await startInfluxDB();
  const dir = testDir('status-details');
  const registry = schemaRegistry();
  await writeSyntheticData(influx.client, registry, { nowMs: NOW });
  await influx.client.write('monit_production_web', extraProbes().join('\n'), { retentionPolicy: 'raw', precision: 'ms' });
  // The status job's newest decision for web: degraded, which the details page's light shows.
  await influx.client.write(
    'monit_production_monit_collectors',
    point('monit_production_monit_collectors', 'status', { module: 'web' }, [{ name: 'status', type: 'string', value: 'degraded' }, { name: 'code', type: 'int', value: 1 }, { name: 'reason', type: 'string', value: 'stored reason' }], slotStart(NOW, STEP)),
    { retentionPolicy: 'raw', precision: 'ms' },
  );
  configFile = path.join(dir, 'config.cfg');
  // The shipped rules (every collector configured), and one module declared here without a dashboard, whose condition holds now.
  writeFileSync(
    configFile,
    `[paths]\nvar = ${dir}/var\n[influxdb]\nurl = ${influx.url}\n[status]\n${everyCollectorSection()}` +
      `[status.module.crafted]\ntitle = Crafted slow web\nmeasurement = web/probe\nfields = up, latency_ms\ncollector = none\n` +
      `degraded = ${CRAFTED_CONDITION}\ndegraded_reason = {series} slow: mean {value} ms ({matches} slow)\n` +
      // Plots of one series with one point, and of two equal series.
      `[status.module.lonely]\ntitle = One lonely probe\nmeasurement = web/probe\nwhere = name=lonely\nfields = latency_ms\ncollector = none\n` +
      `[status.module.twins]\ntitle = Twin probes\nmeasurement = web/probe\nwhere = name=twins\nfields = latency_ms\ncollector = none\n` +
      // Made of parts, one of them limited by `where`: plotted from its parts' rules.
      `[status.module.combo]\ntitle = Web and SQL\nparts = combo-web, combo-sql\n` +
      `[status.part.combo-web]\nmeasurement = web/probe\nwhere = name=name-1\nfields = latency_ms\ncollector = none\ndegraded = mean(latency_ms) > 100000\ndegraded_reason = slow\n` +
      `[status.part.combo-sql]\nmeasurement = sql/query_status\nfields = up, duration_ms\ncollector = none\nunavailable = latest(up) == 0\nunavailable_reason = down\n`,
  );
  settings = loadStatusSettings(Config.load(configFile));
  pages = statusPages(influx.client, settings, { now: () => NOW });
  gateway = await startGateway(
    {
      influxdb: influx.client,
      durations: { raw: 'INF', '1h': 'INF', '1d': 'INF' },
      auth: { token: 'details-test-token', producerPasswords: new Map() },
      maxDocuments: 1000,
      maxBodyBytes: 1_000_000,
      registry,
      log: new MemoryLogger('gateway'),
      pages,
    },
    '127.0.0.1',
    0,
  );
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await gateway?.close();
  await influx?.stop();
});

describe('the details pages', () => {
  test('every module of the shipped rules draws each of its plots with data in Chromium, offline, over the range asked for, 6h and 7d', async () => {
    const modules = settings.rules.map((rule) => rule.module);
    expect(modules).toEqual(expect.arrayContaining(['web', 'host', 'panda', 'hadoop-yarn', 'crafted', 'combo']));
    const empty: string[] = [];
    let percentPlots = 0;
    for (const range of ['6h', '7d']) {
      for (const module of modules) {
        const data = await json(module, range);
        expect({ module, plots: data.plots.length > 0 }).toEqual({ module, plots: true });
        const { page, requests, errors } = await open(`${gateway.url}/status/module/${module}?range=${range}`);
        for (const [index, plot] of data.plots.entries()) {
          const label = { module, range, plot: plot.title };
          if (plot.error || plot.series.every((series) => series.points === 0)) {
            empty.push(`${module} ${range}: ${plot.title} ${plot.error ?? 'no points'}`);
            continue;
          }
          const chart = page.locator(`[data-plot="${index}"] .chart`);
          await expect(chart.locator('canvas').count()).resolves.toBeGreaterThan(0);
          // The draw hook counts the non-null values uPlot was given: the plot's points, all of them.
          const drawn = Number(await chart.getAttribute('data-drawn'));
          expect({ ...label, drawn }).toEqual({ ...label, drawn: plot.series.reduce((sum, series) => sum + series.points, 0) });
          expect(drawn).toBeGreaterThan(0);
          const scales = await drawnScales(page, index);
          // The x axis is the page's range, whatever the data covers.
          expect({ ...label, x: [scales.xMin, scales.xMax] }).toEqual({ ...label, x: [data.fromMs / 1000, data.toMs / 1000] });
          // No value on an edge of the y axis; percent axes show 0 to 100 at least.
          const values = plot.series.flatMap((series) => series.values.filter((value): value is number => value !== null));
          const [low, high] = [Math.min(...values), Math.max(...values)];
          const top = plot.unit !== undefined && Object.hasOwn(PERCENT_UNITS, plot.unit) ? PERCENT_UNITS[plot.unit] : undefined;
          if (top !== undefined) percentPlots++;
          const [bottom, ceiling] = top === undefined ? [low, high] : [Math.min(0, low), Math.max(top, high)];
          expect({ ...label, inside: scales.yMin < bottom && scales.yMax > ceiling }).toEqual({ ...label, inside: true });
          // Series of few points have markers: one point alone draws no line.
          const few = plot.series.flatMap((series, position) => (series.points <= 20 ? [position] : []));
          expect({ ...label, markers: scales.markers }).toEqual({ ...label, markers: few.join(',') });
        }
        expect({ module, errors }).toEqual({ module, errors: [] });
        // Offline: the page, uPlot's script and stylesheet, all from the gateway on loopback.
        expect(requests.filter((url) => !url.startsWith(`${gateway.url}/`))).toEqual([]);
        expect(requests.map((url) => new URL(url).pathname)).toEqual(expect.arrayContaining([`/status/module/${module}`, '/status/assets/uPlot.iife.min.js', '/status/assets/uPlot.min.css']));
        await page.screenshot({ path: path.join(PROJECT_ROOT, 'var', 'test-artifacts', `details-${module}-${range}.png`), fullPage: true });
        await page.close();
      }
    }
    // lonely and twins have raw data only; 7d reads the 1h RP.
    expect(empty).toEqual(['lonely 7d: mean(latency_ms) of web/probe no points', 'twins 7d: mean(latency_ms) of web/probe no points']);
    // The shipped modules have percent panels (host's CPU, filesystems...): the check above ran on some.
    expect(percentPlots).toBeGreaterThan(0);
  }, 480_000);

  test('a series of one point is visible (its marker\'s pixels), two equal series show both colours, a normal plot draws its lines', async () => {
    const lonely = await json('lonely', '6h');
    expect(lonely.plots[0].series.map((series) => series.points)).toEqual([1]);
    const alone = await open(`${gateway.url}/status/module/lonely`);
    expect(await colouredPixels(alone.page, 0, SERIES_COLOURS[0])).toBeGreaterThan(10);
    expect(alone.errors).toEqual([]);
    await alone.page.close();

    const twins = await json('twins', '6h');
    const [first, second] = twins.plots[0].series;
    expect(twins.plots[0].series).toHaveLength(2);
    expect(first.values).toEqual(second.values);
    expect([first.min, first.max, second.min, second.max]).toEqual([TWIN_LATENCY, TWIN_LATENCY, TWIN_LATENCY, TWIN_LATENCY]);
    const both = await open(`${gateway.url}/status/module/twins`);
    // The second line is dashed: the first shows through its gaps.
    expect(await colouredPixels(both.page, 0, SERIES_COLOURS[0])).toBeGreaterThan(20);
    expect(await colouredPixels(both.page, 0, SERIES_COLOURS[1])).toBeGreaterThan(20);
    expect(both.errors).toEqual([]);
    await both.page.screenshot({ path: path.join(PROJECT_ROOT, 'var', 'test-artifacts', 'details-twins-plot.png'), clip: (await both.page.locator('[data-plot="0"]').boundingBox()) ?? undefined });
    await both.page.close();

    const web = await open(`${gateway.url}/status/module/web`);
    const latency = (await json('web', '6h')).plots.findIndex((plot) => plot.title === 'Latency');
    for (const colour of SERIES_COLOURS) expect({ colour, pixels: (await colouredPixels(web.page, latency, colour)) > 20 }).toEqual({ colour, pixels: true });
    await web.page.close();
  }, 60_000);

  test('the time axis is in UTC with 24-hour labels, in a browser whose time zone is not UTC', async () => {
    const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
    for (const range of ['6h', '7d', '1y']) {
      const { page, errors } = await open(`${gateway.url}/status/module/web?range=${range}`, undefined, 'America/Los_Angeles');
      const ticks = JSON.parse((await page.locator('[data-plot="0"] .chart').getAttribute('data-x-ticks')) ?? '{}') as { name: string; at: number[]; labels: string[] };
      expect(ticks.name).toBe('Time (UTC)');
      expect(ticks.at.length).toBeGreaterThan(1);
      const increment = ticks.at[1] - ticks.at[0];
      const expected = ticks.at.map((seconds, index) => {
        const iso = new Date(seconds * 1000).toISOString();
        const [year, month, day, time] = [iso.slice(0, 4), months[Number(iso.slice(5, 7)) - 1], iso.slice(8, 10), iso.slice(11, 16)];
        if (increment < 86400) return index === 0 || time === '00:00' ? `${time}\n${day} ${month}` : time;
        if (increment < 28 * 86400) return index === 0 || `${month} ${day}` === 'Jan 01' ? `${day} ${month}\n${year}` : `${day} ${month}`;
        return `${month} ${year}`;
      });
      expect({ range, labels: ticks.labels }).toEqual({ range, labels: expected });
      expect(errors).toEqual([]);
      await page.close();
    }
  });

  test('the web page: its light, the numbers under the latency plot equal the test\'s own InfluxQL over 6h (raw), and a screenshot', async () => {
    const data = await json('web', '6h');
    expect(data.retentionPolicy).toBe('raw');
    expect(data.toMs).toBe(NOW);
    const latency = data.plots.find((plot) => plot.title === 'Latency');
    expect(latency?.queries).toEqual([expect.stringContaining('FROM "monit_production_web"."raw"."probe"')]);
    const own = await influx.client.rows(
      `SELECT last("latency_ms") AS "last", min("latency_ms") AS "min", max("latency_ms") AS "max", mean("latency_ms") AS "mean" FROM "monit_production_web"."raw"."probe" WHERE time > ${NOW - 6 * HOUR}ms AND time <= ${NOW}ms GROUP BY "name"`,
    );
    // 3 synthetic probes, 12 extra, the evil one, lonely and twins: only the 10 with the highest last value are shown.
    expect(own).toHaveLength(18);
    const expected = [...own].sort((a, b) => Number(b.last) - Number(a.last)).slice(0, 10);
    expect(expected.map((row) => row.name)).toContain(EVIL);

    const { page, errors } = await open(`${gateway.url}/status/module/web`);
    const section = page.locator('section.plot', { has: page.locator('h2', { hasText: /^Latency/ }) });
    const rows = await section.locator('table.numbers tr[data-series]').evaluateAll((elements) =>
      elements.map((element) => ({ name: element.getAttribute('data-series'), values: Object.fromEntries([...element.querySelectorAll('td.number')].map((cell) => [cell.classList[1], Number(cell.getAttribute('data-value'))])), texts: [...element.querySelectorAll('td.number')].map((cell) => cell.textContent) })),
    );
    expect(rows.map((row) => row.name)).toEqual(expected.map((row) => row.name));
    for (const [index, row] of rows.entries()) {
      for (const stat of ['last', 'min', 'max', 'mean'] as const) {
        expect({ name: row.name, stat, difference: Math.abs(row.values[stat] - Number(expected[index][stat])) < 1e-9 * Math.max(1, Math.abs(Number(expected[index][stat]))) }).toEqual({ name: row.name, stat, difference: true });
      }
      expect(row.texts).toEqual(['last', 'min', 'max', 'mean'].map((stat) => formatNumber(Number(expected[index][stat]))));
    }
    await expect(section.locator('.cap').innerText()).resolves.toBe('Showing 10 of 18 series: the 10 with the highest last value.');
    // The evil name stayed data: the script ran (the plot is drawn) and nothing else did.
    await expect(section.locator('.chart').getAttribute('data-drawn')).resolves.toMatch(/^[1-9]/);
    await expect(page.evaluate('typeof window.broken')).resolves.toBe('undefined');
    // The light is the stored decision's, in the page's colour.
    const light = page.locator('section.now .light');
    await expect(light.evaluate((element) => element.ownerDocument.defaultView!.getComputedStyle(element).backgroundColor)).resolves.toBe(
      `rgb(${[1, 3, 5].map((index) => parseInt(LIGHT_COLOURS.degraded.slice(index, index + 2), 16)).join(', ')})`,
    );
    await expect(page.locator('section.now .reason').innerText()).resolves.toBe('stored reason');
    await expect(page.locator('header a').getAttribute('href')).resolves.toBe('../../status');
    expect(errors).toEqual([]);
    await page.screenshot({ path: path.join(PROJECT_ROOT, 'var', 'test-artifacts', 'details-web.png'), fullPage: true });
    await page.close();
  }, 60_000);

  test('over 30d the latency numbers read the 1h RP and equal the test\'s own query there', async () => {
    const data = await json('web', '30d');
    expect(data.retentionPolicy).toBe('1h');
    const latency = data.plots.find((plot) => plot.title === 'Latency');
    expect(latency?.queries).toEqual([expect.stringContaining('FROM "monit_production_web"."1h"."probe"')]);
    const own = await influx.client.rows(
      `SELECT last("latency_ms") AS "last", min("latency_ms") AS "min", max("latency_ms") AS "max", mean("latency_ms") AS "mean", count("latency_ms") AS "count" FROM "monit_production_web"."1h"."probe" WHERE time > ${NOW - 30 * DAY}ms AND time <= ${NOW}ms GROUP BY "name"`,
    );
    expect(own).toHaveLength(3);
    const shown = Object.fromEntries((latency?.series ?? []).map((series) => [series.name, series]));
    for (const row of own) {
      const series = shown[String(row.name)];
      expect(series.points).toBe(row.count);
      for (const stat of ['last', 'min', 'max', 'mean'] as const) expect(series[stat]).toBeCloseTo(Number(row[stat]), 9);
    }
  });

  test('7d and 1y read the RPs the dashboards choose, 1y with data', async () => {
    const week = await json('web', '7d');
    expect([week.retentionPolicy, week.interval]).toEqual(['1h', '1h']);
    expect(week.plots.flatMap((plot) => plot.queries).every((query) => query.includes('."1h".') && query.includes('time(1h)'))).toBe(true);
    const year = await json('web', '1y');
    expect([year.retentionPolicy, year.interval]).toEqual(['1d', '1d']);
    expect(year.toMs - year.fromMs).toBe(365 * DAY);
    expect(year.plots.flatMap((plot) => plot.queries).every((query) => query.includes('."1d".') && query.includes('time(1d)'))).toBe(true);
    const [count] = await influx.client.rows(`SELECT count("latency_ms") FROM "monit_production_web"."1d"."probe" WHERE time > ${year.fromMs}ms AND time <= ${year.toMs}ms`);
    const latency = year.plots.find((plot) => plot.title === 'Latency');
    expect(latency?.series.reduce((sum, series) => sum + series.points, 0)).toBe(count.count);
  });

  test('an unknown range is a 400 naming the allowed ones, an unknown module a 404, an unknown asset a 404', async () => {
    await expect(getPage(pages, '/status/module/web?range=2w')).resolves.toMatchObject({ status: 400, body: "unknown range '2w': use one of 6h, 7d, 30d, 1y\n" });
    await expect(getPage(pages, '/status/module/web.json?range=1h')).resolves.toMatchObject({ status: 400 });
    await expect(getPage(pages, '/status/module/nosuch')).resolves.toMatchObject({ status: 404, body: expect.stringContaining("no module 'nosuch'") });
    await expect(getPage(pages, '/status/assets/nosuch.js')).resolves.toMatchObject({ status: 404 });
    const script = await getPage(pages, '/status/assets/uPlot.iife.min.js');
    expect(script).toMatchObject({ status: 200, contentType: 'text/javascript; charset=utf-8', headers: { 'cache-control': 'public, max-age=86400' } });
    expect(script.body).toContain('uPlot');
  });

  test('a module whose condition holds shows the condition, its values and the worst series, from the test\'s own query', async () => {
    const own = await influx.client.rows(`SELECT mean("latency_ms") AS "mean" FROM "monit_production_web"."raw"."probe" WHERE time > ${NOW - 30 * MINUTE}ms AND time <= ${NOW}ms GROUP BY "name", "url"`);
    const describe = (row: Record<string, unknown>): string => `name=${String(row.name)}, url=${String(row.url)}`;
    const slow = own.filter((row) => Number(row.mean) > 35).sort((a, b) => describe(a).localeCompare(describe(b)));
    expect(slow.length).toBeGreaterThan(1);
    expect(slow.length).toBeLessThan(own.length);
    // The worst is the slowest (the largest mean), whichever name the reason gives (details-explain.test.ts has them differ).
    const slowest = slow.reduce((worst, row) => (Number(row.mean) > Number(worst.mean) ? row : worst));
    const data = await json('crafted', '6h');
    expect(data.plotSource.kind).toBe('rule');
    expect(data.live).toMatchObject({ state: 'degraded', worst: { key: 'degraded', condition: CRAFTED_CONDITION, series: describe(slowest), ranking: { order: 'largest', operand: 'mean(latency_ms)' } } });
    expect(data.live.worst?.value).toBeCloseTo(Number(slowest.mean), 9);
    expect(data.live.reason?.startsWith(`${describe(slow[0])} slow`)).toBe(true);
    expect(data.live.conditions).toEqual([expect.objectContaining({ key: 'degraded', text: CRAFTED_CONDITION, holds: true, decided: true, matches: slow.length, seriesCount: own.length })]);

    const { page, errors } = await open(`${gateway.url}/status/module/crafted`);
    const row = page.locator('tr.condition[data-key="degraded"]');
    await expect(row.getAttribute('data-holds')).resolves.toBe('true');
    await expect(row.locator('code').innerText()).resolves.toBe(CRAFTED_CONDITION);
    await expect(row.innerText()).resolves.toContain(`holds for ${slow.length} of ${own.length}`);
    await expect(row.locator('.values b').first().innerText()).resolves.toBe(`${describe(slowest)}: mean(latency_ms) = ${formatNumber(Number(slowest.mean))}`);
    await expect(page.locator('.worst').innerText()).resolves.toBe(`Worst series (largest mean(latency_ms)): ${describe(slowest)}, ${CRAFTED_CONDITION} with ${formatNumber(Number(slowest.mean))}`);
    await expect(page.locator('section.rule').getAttribute('data-live-state')).resolves.toBe('degraded');
    expect(errors).toEqual([]);
    await page.close();
  });

  test('a module\'s details are read once per 15 s (of the pages\' clock) and range: a request within them gets the same reading', async () => {
    let clock = NOW;
    const fresh = loadStatusSettings(Config.load(configFile));
    const moving = statusPages(influx.client, fresh, { now: () => clock });
    const first = JSON.parse((await getPage(moving, '/status/module/web.json')).body) as DetailsData;
    clock += 14_000;
    const again = JSON.parse((await getPage(moving, '/status/module/web.json')).body) as DetailsData;
    const otherRange = JSON.parse((await getPage(moving, '/status/module/web.json?range=7d')).body) as DetailsData;
    clock += 1_000;
    const later = JSON.parse((await getPage(moving, '/status/module/web.json')).body) as DetailsData;
    expect([first.toMs, again.toMs, otherRange.toMs, later.toMs]).toEqual([NOW, NOW, NOW + 14_000, NOW + 15_000]);
  });

  test('a module made of parts plots the numeric fields of each part, within its where, equal to the test\'s own query', async () => {
    const data = await json('combo', '6h');
    expect(data.plotSource).toEqual({ kind: 'rule', dashboards: [] });
    expect(data.plots.map((plot) => plot.title)).toEqual(['combo-web: mean(latency_ms) of web/probe', 'combo-sql: mean(up) of sql/query_status', 'combo-sql: mean(duration_ms) of sql/query_status']);
    expect(data.live.parts.map((part) => [part.part, part.measurement, part.state])).toEqual([
      ['combo-web', 'web/probe', 'available'],
      ['combo-sql', 'sql/query_status', 'available'],
    ]);
    const [own] = await influx.client.rows(
      `SELECT mean("latency_ms") AS "mean", max("latency_ms") AS "max", count("latency_ms") AS "count" FROM "monit_production_web"."raw"."probe" WHERE "name" = 'name-1' AND time > ${NOW - 6 * HOUR}ms AND time <= ${NOW}ms`,
    );
    const [series, ...others] = data.plots[0].series;
    expect(others).toEqual([]);
    expect(series.name).toBe('url-1');
    expect(series.points).toBe(own.count);
    expect(series.mean).toBeCloseTo(Number(own.mean), 9);
    expect(series.max).toBeCloseTo(Number(own.max), 9);
    const { page, errors } = await open(`${gateway.url}/status/module/combo`);
    await expect(page.locator('table.parts tr').count()).resolves.toBe(3);
    await expect(page.locator('[data-plot="0"] .chart').getAttribute('data-drawn')).resolves.toBe(String(own.count));
    expect(errors).toEqual([]);
    await page.close();
  });

  test('reads on a phone: 375 px wide, no horizontal scrolling, the plots as wide as the screen allows', async () => {
    for (const module of ['web', 'crafted']) {
      const { page } = await open(`${gateway.url}/status/module/${module}`, { width: 375, height: 740 });
      const { scrollWidth, clientWidth } = await page.locator('html').evaluate((root) => ({ scrollWidth: root.scrollWidth, clientWidth: root.clientWidth }));
      expect({ module, scrollWidth: scrollWidth <= clientWidth }).toEqual({ module, scrollWidth: true });
      const widths = await page.locator('.chart canvas').evaluateAll((canvases) => canvases.map((canvas) => canvas.getBoundingClientRect().width));
      expect(widths.length).toBeGreaterThan(0);
      for (const width of widths) expect(width).toBeLessThanOrEqual(clientWidth);
      await page.screenshot({ path: path.join(PROJECT_ROOT, 'var', 'test-artifacts', `details-${module}-phone.png`), fullPage: true });
      await page.locator('section.plot').first().screenshot({ path: path.join(PROJECT_ROOT, 'var', 'test-artifacts', `details-${module}-phone-plot.png`) });
      await page.close();
    }
  });
});
