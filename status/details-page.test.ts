/** The details page's HTML on its own: the downtime light, and data that must stay data inside the page. */
import type { DetailsData } from './details';
import { renderDetailsPage, scriptJson, SERIES_COLOURS, SERIES_DASHES } from './details-page';
import { LIGHT_COLOURS } from './states';

const NOW = Date.UTC(2026, 11, 6, 9, 0);

function data(change: Partial<DetailsData> = {}): DetailsData {
  return {
    module: 'web',
    title: 'Web interfaces',
    range: '6h',
    ranges: ['6h', '7d', '30d', '1y'],
    fromMs: NOW - 6 * 3600e3,
    toMs: NOW,
    retentionPolicy: 'raw',
    interval: '10m',
    status: { state: 'unavailable', shown: 'downtime', colour: LIGHT_COLOURS.downtime, reason: 'a down', downtime: { reason: 'network intervention' }, evaluatedMs: NOW - 60e3, lastDataMs: null, dashboardUrl: null },
    live: { evaluatedMs: NOW, state: 'available', reason: 'all checks pass', parts: [], conditions: [], worst: null },
    plotSource: { kind: 'dashboard', dashboards: [{ uid: 'monit-web', title: 'Web' }] },
    maxSeries: 10,
    maxSeriesRead: 200,
    plots: [{ title: 'Latency', unit: 'ms', queries: ['SELECT 1'], times: [NOW - 600e3, NOW], series: [{ name: '</script><b>x</b>\u2028', values: [1, 2], last: 2, min: 1, max: 2, mean: 1.5, points: 2 }], totalSeries: 1, truncated: false }],
    ...change,
  };
}

describe('the details page', () => {
  test('a module under scheduled downtime shows the downtime colour, the word and its reason', () => {
    const html = renderDetailsPage(data());
    expect(html).toContain(`<div class="light" style="background:${LIGHT_COLOURS.downtime}" role="img" aria-label="Downtime">`);
    expect(html).toContain('<p class="downtime">Scheduled downtime: network intervention</p>');
  });

  test('the embedded data cannot end its script element and parses back to the same data', () => {
    const html = renderDetailsPage(data());
    const embedded = /<script type="application\/json" id="details-data">([\s\S]*?)<\/script>/.exec(html)?.[1] ?? '';
    expect(embedded).not.toMatch(/[<>\u2028\u2029]/);
    expect(JSON.parse(embedded)).toEqual(JSON.parse(JSON.stringify(data())));
    expect(JSON.parse(scriptJson({ text: '</script>&' }))).toEqual({ text: '</script>&' });
    // Elsewhere the name is escaped HTML.
    expect(html).toContain('&lt;/script&gt;&lt;b&gt;x&lt;/b&gt;');
    expect(html.match(/<\/script>/g)).toHaveLength(3);
  });

  test('the table under a plot draws each series\' line as the plot does: its colour and its dashes', () => {
    const plot = data().plots[0];
    const twins = { ...plot, series: [0, 1].map((index) => ({ ...plot.series[0], name: `twin-${index}` })) };
    const html = renderDetailsPage(data({ plots: [twins] }));
    const swatches = [...html.matchAll(/<tr data-series="(twin-\d)"><td><svg class="swatch"[^>]*><line [^>]*stroke="([^"]+)"[^>]*?(?: stroke-dasharray="([^"]+)")?\/><\/svg>/g)].map((match) => match.slice(1));
    expect(swatches).toEqual([
      ['twin-0', SERIES_COLOURS[0], undefined],
      ['twin-1', SERIES_COLOURS[1], SERIES_DASHES[1].join(' ')],
    ]);
    expect(SERIES_DASHES[0]).toEqual([]);
    expect(new Set(SERIES_DASHES.map((dash) => dash.join(' '))).size).toBe(SERIES_DASHES.length);
  });

  test('a plot\'s unit is in words: Grafana\'s ids translated, none for plain numbers, others as they are', () => {
    const plot = data().plots[0];
    const units = ['cps', 'short', 'percent', 'ms', undefined].map((unit) => {
      const html = renderDetailsPage(data({ plots: [{ ...plot, unit }] }));
      return /<h2>Latency(?: <span class="note">\(([^)]*)\)<\/span>)?<\/h2>/.exec(html)?.[1] ?? null;
    });
    expect(units).toEqual(['per second', null, '%', 'ms', null]);
  });

  test('ranges link to the same page, the current one marked; assets and the way back are relative', () => {
    const html = renderDetailsPage(data({ range: '30d' }));
    expect(html).toContain('<a href="web?range=7d">7d</a>');
    expect(html).toContain('<a href="web?range=30d" class="current" aria-current="page">30d</a>');
    expect(html).toContain('<script src="../assets/uPlot.iife.min.js"></script>');
    expect(html).toContain('<a href="../../status">');
  });
});
