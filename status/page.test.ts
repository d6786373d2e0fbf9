import { InfluxClient } from '../lib/influx/influxdb';
import { freePort } from '../test/support/ports';
import { escapeHtml, formatAge, formatAvailability, renderStatusPage } from './page';
import { statusPages } from './pages';
import type { StatusSettings } from './settings';
import type { StatusSnapshot } from './snapshot';
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
  expect(html).toContain('<b>99.99%</b>');
  expect(html).toContain('<b>50.00%</b>');
  expect(html).toContain('<b>n/a</b>');
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
