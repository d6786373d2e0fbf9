import { InfluxClient } from '../lib/influx/influxdb';
import { freePort } from '../test/support/ports';
import { NO_SLOTS } from './argo';
import { dayTitle, escapeHtml, formatAge, formatAvailability, formatDuration, INCIDENTS_SHOWN, NO_DATA_COLOUR, renderStatusPage } from './page';
import { statusPages } from './pages';
import type { StatusSettings } from './settings';
import { badgeContent } from './badges';
import type { DetailsData } from './details';
import { renderDetailsPage } from './details-page';
import { describeTransition } from './transitions';
import type { DayCell, Incident, StatusSnapshot } from './snapshot';
import { LIGHT_COLOURS, type ShownState } from './states';
import { getPage } from '../test/support/pages';

const GENERATED = Date.UTC(2026, 10, 22, 12, 5);

function snapshot(reason: string, title = 'Web <b>'): StatusSnapshot {
  return {
    title: 'Status & more',
    generatedMs: GENERATED,
    refreshSeconds: 45,
    modules: [
      {
        module: 'web',
        title,
        state: 'degraded',
        shown: 'degraded',
        downtime: null,
        stateText: 'Degraded',
        code: 1,
        reason,
        evaluatedMs: GENERATED - 5 * 60e3,
        lastDataMs: GENERATED - 75 * 60e3,
        sinceMs: null,
        availability: { '24h': 0.99999, '7d': 0.5, '30d': null, '90d': null },
        reliability: { '24h': 0.99999, '7d': 0.5, '30d': null, '90d': null },
        timeline: [{ fromMs: GENERATED - 86400e3, toMs: GENERATED, state: 'degraded' }],
        history: [],
        incidents: [],
        dashboardUrl: 'http://grafana/d/x?a=1&b="2"',
        detailsUrl: '/status/module/web',
      },
    ],
    incidents: [],
  };
}

test('text from data and config is escaped, never interpreted as markup', () => {
  const html = renderStatusPage(snapshot('<script>alert(1)</script> & "quotes"'));
  expect(html).not.toContain('<script>alert(1)</script>');
  expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;');
  expect(html).toContain('Web &lt;b&gt;');
  expect(html).toContain('href="http://grafana/d/x?a=1&amp;b=&quot;2&quot;"');
  expect(html).toContain('<title>Status &amp; more</title>');
  expect(escapeHtml(`'`)).toBe('&#39;');
});

test('the page refreshes itself, loads nothing from elsewhere and shows the figures', () => {
  const html = renderStatusPage(snapshot('slow'));
  expect(html).toContain('<meta http-equiv="refresh" content="45">');
  expect(html).not.toMatch(/<(link|img|iframe)\b|src=|@import|url\(/i);
  expect(html).toContain('<td class="availability-24h">99.99%</td><td class="availability-7d">50.00%</td><td class="availability-30d">n/a</td><td class="availability-90d">n/a</td>');
  expect(html).toContain('<td class="reliability-24h">99.99%</td><td class="reliability-7d">50.00%</td>');
  expect(html).toContain('1 h 15 min ago');
});

test('formatting of ages and availability', () => {
  expect(formatAge(59e3)).toBe('just now');
  expect(formatAge(4 * 60e3)).toBe('4 min ago');
  expect(formatAge(125 * 60e3)).toBe('2 h 5 min ago');
  expect(formatAge(3 * 86400e3)).toBe('3 d ago');
  expect(formatAvailability(1)).toBe('100%');
  expect(formatAvailability(0.999999)).toBe('99.99%');
  expect(formatAvailability(0)).toBe('0.00%');
  expect(formatAvailability(null)).toBe('n/a');
});

test('with the status store unreachable, the pages still answer: every module N/A with the reason', async () => {
  const port = await freePort();
  const settings = {
    rules: [{ module: 'web', title: 'Web' }],
    title: 'T',
    refreshSeconds: 60,
    retentionPolicy: 'raw',
    periodMs: 600e3,
    staleAfterMs: 1800e3,
    webhookTimeoutMs: 1000,
  } as unknown as StatusSettings;
  const pages = statusPages(new InfluxClient(`http://127.0.0.1:${port}`, { timeoutMs: 2000 }), settings);
  const json = JSON.parse((await getPage(pages, '/status.json')).body) as StatusSnapshot;
  expect(json.modules).toHaveLength(1);
  expect(json.modules[0]).toMatchObject({ module: 'web', state: 'na', code: 3 });
  expect(json.modules[0].reason).toMatch(/^cannot read the stored statuses: InfluxDB query: ECONNREFUSED/);
  const page = await getPage(pages, '/status');
  expect(page.contentType).toBe('text/html; charset=utf-8');
  expect(page.body).toContain('data-module="web" data-state="na"');
});

const DAY = 86400e3;
const TODAY = Date.UTC(2026, 10, 22);
const WORSTS: Array<ShownState | null> = ['available', 'degraded', 'downtime', 'na', 'unavailable', null];

/** 90 days cycling through every worst state and a day without data. */
function days(): DayCell[] {
  return Array.from({ length: 90 }, (_, index) => {
    const worst = WORSTS[index % WORSTS.length];
    const counts = worst === null ? NO_SLOTS : { ...NO_SLOTS, available: 140, [worst]: worst === 'available' ? 144 : 4 };
    return { dayStartMs: TODAY - (89 - index) * DAY, worst, counts, downtimeMs: worst === 'downtime' ? 80 * 60e3 : 0, availability: worst === null ? null : 0.9931, reliability: worst === null ? null : 1 };
  });
}

function incident(index: number, to: ShownState, endMs: number | null): Incident {
  const startMs = GENERATED - (index + 1) * 3600e3;
  return { module: 'web', title: 'Web <b>', from: 'available', to, reason: `reason ${index} <i>`, startMs, endMs, durationMs: (endMs ?? GENERATED) - startMs };
}

function richSnapshot(incidents: Incident[]): StatusSnapshot {
  const base = snapshot('rules say unavailable');
  const module = { ...base.modules[0], state: 'unavailable' as const, shown: 'downtime' as const, downtime: { reason: 'kernel upgrade <now> (GOCDB 123)' }, history: days(), incidents };
  return { ...base, modules: [module], incidents };
}

describe('the page with history, downtime and incidents', () => {
  test('the 90-day bar has 90 cells, oldest first, coloured by the worst state of the day, grey without data, with hover text', () => {
    const html = renderStatusPage(richSnapshot([]));
    const cells = [...html.matchAll(/<span class="day-(\w+)" title="([^"]+)"><\/span>/g)].map(([, kind, title]) => ({ kind, title }));
    expect(cells).toHaveLength(90);
    const colourOf = new Map([...html.matchAll(/\.day-(\w+)\{background:(#[0-9a-f]{6})\}/g)].map(([, kind, colour]) => [kind, colour]));
    cells.forEach(({ kind, title }, index) => {
      const worst = WORSTS[index % WORSTS.length];
      expect(kind).toBe(worst ?? 'none');
      expect(colourOf.get(kind)).toBe(worst === null ? NO_DATA_COLOUR : LIGHT_COLOURS[worst]);
      expect(title.startsWith(new Date(TODAY - (89 - index) * DAY).toISOString().slice(0, 10))).toBe(true);
    });
    expect(cells[86].title).toBe('2026-11-19: 99.31% available, 100% reliable, 1 h 20 min downtime');
    expect(cells[0].title).toBe('2026-08-25: 99.31% available, 100% reliable');
    expect(cells[5].title).toBe('2026-08-30: no data');
    expect(html).toContain('<div class="axis"><span>90 days ago</span><span>today</span></div>');
  });

  test('a scheduled downtime: the light and state in the downtime colour and words, its reason escaped', () => {
    const html = renderStatusPage(richSnapshot([]));
    expect(html).toContain('data-state="unavailable" data-shown="downtime"');
    expect(html).toContain(`<div class="light" style="background:${LIGHT_COLOURS.downtime}" role="img" aria-label="Downtime">`);
    expect(html).toContain('<div class="state">Downtime</div>');
    expect(html).toContain('<p class="downtime-note">Scheduled downtime: kernel upgrade &lt;now&gt; (GOCDB 123)</p>');
  });

  test('the page, the details page, the badges and the transition log say each shown state in the same words', () => {
    const words: Record<ShownState, string> = { available: 'Available', degraded: 'Degraded', unavailable: 'Unavailable', na: 'N/A', downtime: 'Downtime' };
    for (const [shown, word] of Object.entries(words) as Array<[ShownState, string]>) {
      // Under a downtime the rules still say their state (here unavailable).
      const state = shown === 'downtime' ? 'unavailable' : shown;
      const module = { ...snapshot('r').modules[0], state, shown, stateText: words[state] };
      expect(renderStatusPage({ ...snapshot('r'), modules: [module] })).toContain(`<div class="state">${word}</div>`);
      // No 30-day figure in this snapshot: the badge says the word alone.
      expect(badgeContent(module).message).toBe(word);
      expect(describeTransition({ module: 'web', title: 'Web', from: 'available', to: shown, reason: 'r', timeMs: GENERATED })).toBe(`Web: Available → ${word} (r)`);
      const details: DetailsData = {
        module: 'web',
        title: 'Web',
        range: '6h',
        ranges: ['6h'],
        fromMs: GENERATED - 6 * 3600e3,
        toMs: GENERATED,
        retentionPolicy: 'raw',
        interval: '10m',
        status: { state, shown, colour: LIGHT_COLOURS[shown], reason: 'r', downtime: null, evaluatedMs: null, lastDataMs: null, dashboardUrl: null },
        live: { evaluatedMs: GENERATED, state: 'degraded', reason: 'r', parts: [], conditions: [], worst: null },
        plotSource: { kind: 'dashboard', dashboards: [] },
        maxSeries: 10,
        maxSeriesRead: 200,
        plots: [],
      };
      expect(renderDetailsPage(details)).toContain(`<div class="state">${word}</div>`);
    }
  });

  test('the light and the title link to the details page', () => {
    const html = renderStatusPage(richSnapshot([]));
    // Relative: from /status it is /status/module/web, from /prefix/status /prefix/status/module/web.
    expect(html).toContain('<a class="light-link" href="status/module/web" title="Details of Web &lt;b&gt;"><div class="light"');
    expect(html).toContain('<div class="name"><a href="status/module/web">Web &lt;b&gt;</a></div>');
  });

  test('incidents: newest first as given, with from → to, reason, start and duration; ongoing ones say so; at most 50 with a count of the rest', () => {
    const list = [incident(0, 'unavailable', null), incident(1, 'downtime', GENERATED - 2 * 3600e3 + 80 * 60e3), ...Array.from({ length: 58 }, (_, index) => incident(index + 2, 'degraded', GENERATED - 1))];
    const html = renderStatusPage(richSnapshot(list));
    const items = [...html.matchAll(/<li class="incident"[\s\S]*?<\/li>/g)].map(([item]) => item);
    expect(items).toHaveLength(INCIDENTS_SHOWN);
    expect(items[0]).toContain('reason 0 &lt;i&gt;');
    expect(items[0]).toContain('<span class="duration">ongoing, for 1 h</span>');
    expect(items[0]).toContain('from 2026-11-22 11:05 UTC ·');
    expect(items[0]).toContain('data-to="unavailable"');
    expect(items[1]).toContain('<span class="duration">lasted 1 h 20 min</span>');
    expect(items[1]).toContain('from 2026-11-22 10:05 UTC to 2026-11-22 11:25 UTC');
    expect(items[1]).toContain(`<i style="background:${LIGHT_COLOURS.available}"></i>Available → <i style="background:${LIGHT_COLOURS.downtime}"></i>Downtime`);
    expect(items[0]).toContain('<b>Web &lt;b&gt;</b>');
    expect(html).toContain('Incidents, last 30 days (60)');
    expect(html).toContain('and 10 older');
    expect(renderStatusPage(richSnapshot([]))).toContain('No change in the last 30 days.');
  });

  test('durations and day titles', () => {
    expect(formatDuration(5 * 60e3)).toBe('5 min');
    expect(formatDuration(80 * 60e3)).toBe('1 h 20 min');
    expect(formatDuration(3 * 3600e3)).toBe('3 h');
    expect(formatDuration(76 * 3600e3)).toBe('3 d 4 h');
    expect(formatDuration(2 * DAY)).toBe('2 d');
    expect(dayTitle({ dayStartMs: TODAY, worst: 'na', counts: { ...NO_SLOTS, na: 144 }, downtimeMs: 0, availability: null, reliability: null })).toBe('2026-11-22: availability n/a, reliability n/a');
  });
});
