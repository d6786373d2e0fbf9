/** The HTML of a module's details page: one document, inline CSS and script, uPlot from /status/assets/. */
import type { Value } from './condition';
import type { DetailsData } from './details';
import type { Plot } from './details-plots';
import type { WorstRanking } from './evaluate';
import { BASE_STYLE, CARD_DECLARATIONS, escapeHtml, formatAge, htmlPage, utc } from './page';
import { LIGHT_COLOURS, SHOWN_WORDS, STATE_WORDS } from './states';

/** Colours of a plot's series, in order (distinct for the 10 series a plot shows at most). */
export const SERIES_COLOURS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
/** Dash patterns of the series, in order: two equal lines still show both colours. The first is solid. */
export const SERIES_DASHES: number[][] = [[], [8, 4], [2, 3], [10, 3, 2, 3], [5, 5], [1, 4], [14, 4], [6, 2, 2, 2], [3, 7], [12, 3, 3, 3]];
/** A series with at most this many points gets a marker on each: one point alone draws no line. */
export const FEW_POINTS = 20;
/** Units whose axis always shows 0 to 100 % (Grafana's ids, and the schemas' "%"): the top of each scale. */
export const PERCENT_UNITS: Record<string, number> = { percent: 100, '%': 100, percentunit: 1 };

/** A plot's unit for its reader: Grafana's unit ids (the panels') and the schemas' units in words; none for plain numbers. */
const UNIT_WORDS: Record<string, string> = { percent: '%', percentunit: 'fraction of 1', short: '', none: '', '1': '', cps: 'per second', Bps: 'bytes per second', MBs: 'MB per second', hertz: 'Hz', d: 'days', s: 'seconds' };

// The page, header, card and light rules are the status page's (page.ts).
const STYLE = `${BASE_STYLE}
header a{color:#c9d1d9}
main{max-width:1100px;margin:0 auto;padding:12px;display:grid;gap:12px;grid-template-columns:minmax(0,1fr)}
section{${CARD_DECLARATIONS}}
h2{margin:0 0 8px;font-size:1.05rem}
.reason,.meta{overflow-wrap:anywhere}
.ranges a{margin-right:10px}
.ranges a.current{font-weight:700;color:#1d2329;text-decoration:none}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;font-size:.85rem;width:100%}
th,td{text-align:left;padding:3px 6px;border-bottom:1px solid #e1e4e8;vertical-align:top}
td{overflow-wrap:anywhere}
td.number{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
.holds{font-weight:700;color:#b00020}
.chart{width:100%;min-height:200px}
.swatch{display:inline-block;vertical-align:middle;margin-right:4px}
.note{font-size:.8rem;color:#57606a;margin:4px 0}
.error{color:#b00020;overflow-wrap:anywhere}
@media (max-width:600px){table.conditions th{display:none}table.conditions td{display:block;border:0;padding:1px 6px}table.conditions tr{display:block;border-bottom:1px solid #e1e4e8;padding:4px 0}}
`;

/**
 * Draws each plot with uPlot from the embedded data, at the width of its box (again on resize). The x
 * axis is the page's range [fromMs, toMs] in UTC, whatever the data covers; percent axes show 0-100;
 * other axes are padded so that a constant line is never on an edge. The draw hook writes what was
 * drawn on the box (data-drawn, data-x-min/max and data-y-min/max in the axes' units, data-markers:
 * the series drawn with point markers, data-x-ticks: the time axis' name, ticks and labels) for the tests.
 */
const SCRIPT = `
(function(){
  var data=JSON.parse(document.getElementById('details-data').textContent);
  var colours=${JSON.stringify(SERIES_COLOURS)},dashes=${JSON.stringify(SERIES_DASHES)},few=${FEW_POINTS},percent=${JSON.stringify(PERCENT_UNITS)};
  var DAY=86400,MONTHS=['Jan','Feb','Mar','Apr','May','Jun','Jul','Aug','Sep','Oct','Nov','Dec'];
  function two(n){return (n<10?'0':'')+n;}
  // 24-hour UTC labels; the date under the first tick and under each midnight.
  function timeLabels(u,splits,axis,space,increment){
    return splits.map(function(s,i){
      var d=new Date(s*1000),day=two(d.getUTCDate())+' '+MONTHS[d.getUTCMonth()];
      if(increment<DAY){var hm=two(d.getUTCHours())+':'+two(d.getUTCMinutes());return i===0||hm==='00:00'?hm+'\\n'+day:hm;}
      if(increment<28*DAY)return i===0||(d.getUTCDate()===1&&d.getUTCMonth()===0)?day+'\\n'+d.getUTCFullYear():day;
      return MONTHS[d.getUTCMonth()]+' '+d.getUTCFullYear();
    });
  }
  function valueRange(top){
    return function(u,min,max){
      if(!isFinite(min)||!isFinite(max))return top?[0,top]:[0,1];
      if(top){var low=Math.min(0,min),high=Math.max(top,max),margin=(high-low)*0.03;return [low-margin,high+margin];}
      var pad=max>min?(max-min)*0.08:Math.abs(max)*0.1||1;
      // Down to 0 at most for positive data (the line stays off the edge), up to 0 for negative.
      return [min>0?Math.max(0,min-pad):min-pad,max<0?Math.min(0,max+pad):max+pad];
    };
  }
  var charts=[];
  data.plots.forEach(function(plot,index){
    var box=document.querySelector('[data-plot="'+index+'"] .chart');
    if(!box||!plot.times.length||typeof uPlot==='undefined')return;
    var columns=[plot.times.map(function(t){return t/1000;})].concat(plot.series.map(function(s){return s.values;}));
    var top=plot.unit&&Object.prototype.hasOwnProperty.call(percent,plot.unit)?percent[plot.unit]:0;
    var options={width:box.clientWidth,height:240,legend:{show:false},
      tzDate:function(seconds){return uPlot.tzDate(new Date(seconds*1000),'Etc/UTC');},
      // The range is the page's: zooming by dragging would be undone at once.
      cursor:{drag:{x:false,y:false}},
      scales:{x:{time:true,range:[data.fromMs/1000,data.toMs/1000]},y:{range:valueRange(top)}},
      series:[{}].concat(plot.series.map(function(s,i){var colour=colours[i%colours.length];
        return {label:s.name,stroke:colour,width:1.5,dash:dashes[i%dashes.length],spanGaps:true,points:{show:s.points<=few,size:7,width:1,fill:colour}};})),
      axes:[{values:timeLabels,size:56,label:'Time (UTC)',labelSize:18,labelFont:'12px system-ui, sans-serif'},{size:60}],
      hooks:{draw:[function(u){
        var drawn=0,markers=[];
        for(var i=1;i<u.series.length;i++){var s=u.data[i];for(var j=0;j<s.length;j++)if(s[j]!==null)drawn++;if(u.series[i].points.show(u,i,0,s.length-1))markers.push(i-1);}
        box.setAttribute('data-drawn',String(drawn));
        box.setAttribute('data-markers',markers.join(','));
        ['x','y'].forEach(function(key){box.setAttribute('data-'+key+'-min',String(u.scales[key].min));box.setAttribute('data-'+key+'-max',String(u.scales[key].max));});
        // uPlot's own record of the time axis' ticks and their labels, as drawn.
        box.setAttribute('data-x-ticks',JSON.stringify({name:u.axes[0].label,at:u.axes[0]._splits,labels:u.axes[0]._values}));
      }]}};
    charts.push({chart:new uPlot(options,columns,box),box:box});
  });
  var pending;
  window.addEventListener('resize',function(){clearTimeout(pending);pending=setTimeout(function(){charts.forEach(function(c){c.chart.setSize({width:c.box.clientWidth,height:240});});},100);});
})();
`;

/** A number for the tables: 4 significant digits, whole numbers as they are. */
export function formatNumber(value: number | null): string {
  if (value === null) return '–';
  if (Number.isInteger(value)) return String(value);
  return String(Number(value.toPrecision(4)));
}

function formatValue(value: Value): string {
  return typeof value === 'number' ? formatNumber(value) : value === null ? 'no value' : String(value);
}

/** JSON inside <script>: no "<" (so no "</script>"), no U+2028/2029 line breaks. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

function renderStatus(data: DetailsData): string {
  const { status } = data;
  const checked = status.evaluatedMs === null ? 'never' : escapeHtml(formatAge(data.toMs - status.evaluatedMs));
  const lastData = status.lastDataMs === null ? 'no recent data' : `last data ${escapeHtml(formatAge(data.toMs - status.lastDataMs))}`;
  const downtime = status.downtime ? `<p class="downtime">Scheduled downtime: ${escapeHtml(status.downtime.reason)}</p>` : '';
  const shownText = SHOWN_WORDS[status.shown];
  const dashboard = status.dashboardUrl ? ` · <a href="${escapeHtml(status.dashboardUrl)}">Grafana dashboard</a>` : '';
  return `<section class="now" data-state="${status.state}" data-shown="${status.shown}">
<div class="head"><div class="light" style="background:${LIGHT_COLOURS[status.shown]}" role="img" aria-label="${escapeHtml(shownText)}"></div><div class="state">${escapeHtml(shownText)}</div></div>
<p class="reason">${escapeHtml(status.reason)}</p>${downtime}
<div class="meta">${lastData} · checked ${checked}${dashboard}</div>
</section>`;
}

/** How the worst series was chosen, in words: "largest mean(latency_ms)", or why it is the reason's first. */
function rankingLabel(ranking: WorstRanking): string {
  return ranking.order === 'first' ? `the first it holds for, as the reason names it: ${ranking.why}` : `${ranking.order} ${ranking.operand}`;
}

function renderRule(data: DetailsData): string {
  const { live } = data;
  if (live.error) return `<section class="rule"><h2>The rule, now</h2><p class="error">Cannot evaluate the rule now: ${escapeHtml(live.error)}</p></section>`;
  const parts =
    live.parts.length > 1
      ? `<div class="scroll"><table class="parts"><tr><th>Part</th><th>Measurement</th><th>State</th><th>Reason</th></tr>${live.parts
          .map((part) => `<tr><td>${escapeHtml(part.title)}</td><td>${escapeHtml(part.measurement)}</td><td>${STATE_WORDS[part.state]}</td><td>${escapeHtml(part.reason)}</td></tr>`)
          .join('')}</table></div>`
      : '';
  const rows = live.conditions
    .map((condition) => {
      const values = condition.error
        ? `<span class="error">${escapeHtml(condition.error)}</span>`
        : condition.values.length === 0
          ? 'no series in the window'
          : condition.values
              .map((one) => `${one.holds ? '<b>' : ''}${escapeHtml(one.series)}: ${escapeHtml(Object.entries(one.values).map(([operand, value]) => `${operand} = ${formatValue(value)}`).join(', '))}${one.holds ? '</b>' : ''}`)
              .join('<br>');
      const more = condition.seriesCount > condition.values.length ? `<br><span class="note">${condition.seriesCount - condition.values.length} more series</span>` : '';
      const holds = condition.holds ? `<span class="holds">holds</span> for ${condition.matches} of ${condition.seriesCount}` : 'does not hold';
      return `<tr class="condition" data-key="${escapeHtml(condition.key)}" data-holds="${condition.holds}"><td>${escapeHtml(condition.level)}${live.parts.length > 1 ? ` (${escapeHtml(condition.part)})` : ''}</td><td><code>${escapeHtml(condition.text)}</code></td><td>${holds}${condition.decided ? ' · decided the state' : ''}</td><td class="values">${values}${more}</td></tr>`;
    })
    .join('');
  const table = rows
    ? `<div class="scroll"><table class="conditions"><tr><th>Level</th><th>Condition</th><th>Now</th><th>Values</th></tr>${rows}</table></div>`
    : '<p>The rule has no conditions: only the heartbeat and the freshness of the data count.</p>';
  const worst = live.worst
    ? `<p class="worst">Worst series (${escapeHtml(rankingLabel(live.worst.ranking))}): <b>${escapeHtml(live.worst.series)}</b>, ${escapeHtml(live.worst.condition)} with ${escapeHtml(formatValue(live.worst.value))}</p>`
    : '';
  const state = live.state ? STATE_WORDS[live.state] : 'N/A';
  return `<section class="rule" data-live-state="${live.state ?? ''}"><h2>The rule, now</h2>
<p>Evaluated now: <b>${state}</b>: ${escapeHtml(live.reason ?? '')}</p>${worst}${parts}${table}</section>`;
}

/** The series' line as the plot draws it (colour and dashes): the plot's legend. */
function swatch(position: number): string {
  const dash = SERIES_DASHES[position % SERIES_DASHES.length];
  return `<svg class="swatch" width="28" height="10" aria-hidden="true"><line x1="0" y1="5" x2="28" y2="5" stroke="${SERIES_COLOURS[position % SERIES_COLOURS.length]}" stroke-width="2.5"${dash.length ? ` stroke-dasharray="${dash.join(' ')}"` : ''}/></svg>`;
}

function renderPlot(plot: Plot, index: number, maxSeries: number, maxSeriesRead: number): string {
  const capped = plot.truncated
    ? `<p class="note cap">Showing ${plot.series.length} of at least ${plot.totalSeries} series: the ${maxSeries} with the highest last value among the first ${maxSeriesRead} read (in InfluxDB's series order); the others are not read.</p>`
    : plot.totalSeries > plot.series.length
      ? `<p class="note cap">Showing ${plot.series.length} of ${plot.totalSeries} series: the ${maxSeries} with the highest last value.</p>`
      : '';
  const body = plot.error
    ? `<p class="error">Query failed: ${escapeHtml(plot.error)}</p>`
    : plot.series.length === 0
      ? '<p class="note">No data in this range.</p>'
      : `<div class="chart" role="img" aria-label="${escapeHtml(plot.title)}"></div>${capped}
<div class="scroll"><table class="numbers"><tr><th>Series</th><th>Last</th><th>Min</th><th>Max</th><th>Mean</th></tr>${plot.series
          .map(
            (series, position) =>
              `<tr data-series="${escapeHtml(series.name)}"><td>${swatch(position)}${escapeHtml(series.name)}</td>${(['last', 'min', 'max', 'mean'] as const)
                .map((stat) => `<td class="number ${stat}" data-value="${series[stat] ?? ''}">${formatNumber(series[stat])}</td>`)
                .join('')}</tr>`,
          )
          .join('')}</table></div>`;
  const unit = plot.unit === undefined ? '' : Object.hasOwn(UNIT_WORDS, plot.unit) ? UNIT_WORDS[plot.unit] : plot.unit;
  return `<section class="plot" data-plot="${index}"><h2>${escapeHtml(plot.title)}${unit ? ` <span class="note">(${escapeHtml(unit)})</span>` : ''}</h2>${body}</section>`;
}

/** The whole page; links are relative, so that it works below any prefix the gateway is served at. */
export function renderDetailsPage(data: DetailsData): string {
  const self = encodeURIComponent(data.module);
  const ranges = data.ranges
    .map((range) => `<a href="${self}?range=${range}"${range === data.range ? ' class="current" aria-current="page"' : ''}>${range}</a>`)
    .join('');
  const source =
    data.plotSource.kind === 'dashboard'
      ? `The key panels of the ${data.plotSource.dashboards.map((dashboard) => escapeHtml(dashboard.title)).join(', ')} dashboard`
      : "The mean of each numeric field the module's rule reads (no dashboard shows this module)";
  const plots = data.plots.length ? data.plots.map((plot, index) => renderPlot(plot, index, data.maxSeries, data.maxSeriesRead)).join('\n') : '<section><p>No plot: the rule reads no numeric field.</p></section>';
  return htmlPage({
    title: `${data.title}: details`,
    head: '<link rel="stylesheet" href="../assets/uPlot.min.css">',
    style: STYLE,
    body: `<header><a href="../../status">← All modules</a><h1>${escapeHtml(data.title)}</h1></header>
<main>
${renderStatus(data)}
${renderRule(data)}
<section class="range"><nav class="ranges">${ranges}</nav>
<p class="note">${source}, from ${escapeHtml(utc(data.fromMs))} to ${escapeHtml(utc(data.toMs))}, read from the <b>${escapeHtml(data.retentionPolicy)}</b> retention policy in ${escapeHtml(data.interval)} buckets. Last, min, max and mean are over the plotted buckets. <a href="${self}.json?range=${data.range}">JSON</a></p></section>
${plots}
</main>
<script src="../assets/uPlot.iife.min.js"></script>
<script type="application/json" id="details-data">${scriptJson(data)}</script>`,
    script: SCRIPT,
  });
}
