import { type DayCell, type Incident, INCIDENTS_PER_MODULE, type ModuleSnapshot, type StatusSnapshot } from './snapshot';
import { LIGHT_COLOURS, type ShownState, SHOWN_WORDS } from './states';

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[character] ?? character);
}

/** "just now", "4 min ago", "2 h 5 min ago", "3 d ago". */
export function formatAge(ageMs: number): string {
  const minutes = Math.floor(ageMs / 60e3);
  if (minutes < 1) return 'just now';
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ${minutes % 60} min ago`;
  return `${Math.floor(hours / 24)} d ago`;
}

/** A percentage with two decimals, rounded down so that 99.999% never shows as 100%; "n/a" when unknown. */
export function formatAvailability(fraction: number | null): string {
  if (fraction === null) return 'n/a';
  if (fraction >= 1) return '100%';
  return `${(Math.floor(fraction * 10000) / 100).toFixed(2)}%`;
}

/** "5 min", "1 h 20 min", "3 d 4 h": how long something lasted. */
export function formatDuration(durationMs: number): string {
  const minutes = Math.floor(durationMs / 60e3);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return minutes % 60 ? `${hours} h ${minutes % 60} min` : `${hours} h`;
  return hours % 24 ? `${Math.floor(hours / 24)} d ${hours % 24} h` : `${Math.floor(hours / 24)} d`;
}

/** Colour of a day of the history bar with no status document. */
export const NO_DATA_COLOUR = '#c9ccd1';
/** The incident list shows at most this many (the newest); /status.json has them all. */
export const INCIDENTS_SHOWN = 50;

/** The hover text of a day of the history bar, e.g. "2026-12-05: 99.31% available, 100% reliable, 1 h 20 min downtime". */
export function dayTitle(cell: DayCell): string {
  const day = new Date(cell.dayStartMs).toISOString().slice(0, 10);
  if (cell.worst === null) return `${day}: no data`;
  const figure = (value: number | null, adjective: string, noun: string): string => (value === null ? `${noun} n/a` : `${formatAvailability(value)} ${adjective}`);
  const downtime = cell.downtimeMs ? `, ${formatDuration(cell.downtimeMs)} downtime` : '';
  return `${day}: ${figure(cell.availability, 'available', 'availability')}, ${figure(cell.reliability, 'reliable', 'reliability')}${downtime}`;
}

/** "2026-12-05 14:20 UTC". */
export function utc(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
}

/** The declarations of a white card (a module on the status page, a section of a details page). */
export const CARD_DECLARATIONS = 'background:#fff;border-radius:8px;padding:12px 14px;box-shadow:0 1px 3px rgba(0,0,0,.12);min-width:0';

/** The page, header and light rules the status page and the details pages share. */
export const BASE_STYLE = `
*{box-sizing:border-box}
body{margin:0;font:15px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f4f5f7;color:#1d2329}
header{padding:12px 16px;background:#1d2329;color:#fff}
header h1{margin:0;font-size:1.25rem;overflow-wrap:anywhere}
.head{display:flex;align-items:center;gap:10px}
.light{flex:none;width:28px;height:28px;border-radius:50%;border:2px solid rgba(0,0,0,.25)}
.state{font-weight:700}
.meta{font-size:.85rem;color:#57606a}
a{color:#0b5cad}
`;

const STYLE = `${BASE_STYLE}
header p{margin:2px 0 0;font-size:.85rem;color:#c9d1d9}
main{max-width:1100px;margin:0 auto;padding:12px;display:grid;gap:12px;grid-template-columns:repeat(auto-fill,minmax(300px,1fr))}
.module{${CARD_DECLARATIONS}}
/* A title breaks between words, and always beside its light (28px and a 10px gap); the state goes below when both do not fit. */
.module .head{flex-wrap:wrap}
.name{font-weight:600;font-size:1.05rem;flex:1 1 auto;min-width:0;max-width:calc(100% - 38px);overflow-wrap:break-word}
.module .state{margin-left:auto}
.reason{margin:8px 0 4px;overflow-wrap:anywhere}
.availability{display:flex;gap:12px;margin:8px 0 6px;font-size:.9rem}
.availability b{display:block;font-size:1rem}
.strip{display:flex;height:14px;border:1px solid #c9ccd1;border-radius:3px;overflow:hidden;background:#fff}
.strip span{display:block;height:100%}
.light-link{flex:none;display:block;border-radius:50%}
.name a{color:inherit;text-decoration:none}
.name a:hover{text-decoration:underline}
.downtime-note{margin:8px 0 0;font-weight:600;color:#2f6fd1;overflow-wrap:anywhere}
.state-downtime .state{color:#2f6fd1}
table.figures{border-collapse:collapse;margin:8px 0 6px;font-size:.85rem;width:100%}
.figures th,.figures td{padding:1px 4px;text-align:right;font-variant-numeric:tabular-nums}
.figures th:first-child{text-align:left;font-weight:400;color:#57606a}
.figures thead th{font-weight:400;color:#57606a}
.days{display:flex;gap:1px;height:22px;margin-top:8px}
.days span{flex:1;min-width:0;border-radius:1px}
.incidents{max-width:1100px;margin:0 auto;padding:0 12px 16px}
.incidents h2{font-size:1.1rem;margin:8px 0}
.incidents ol{list-style:none;margin:0;padding:0;background:#fff;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.12)}
.incidents li{padding:8px 12px;border-top:1px solid #eaecef;overflow-wrap:anywhere}
.incidents li:first-child{border-top:0}
.incidents .change i{display:inline-block;width:10px;height:10px;border-radius:50%;border:1px solid rgba(0,0,0,.3);margin:0 3px 0 2px;vertical-align:0}
.incidents .when{font-size:.85rem;color:#57606a}
.axis{display:flex;justify-content:space-between;font-size:.75rem;color:#57606a}
.legend{display:flex;flex-wrap:wrap;gap:10px;font-size:.85rem;margin-top:6px}
.legend i{display:inline-block;width:12px;height:12px;border-radius:50%;border:1px solid rgba(255,255,255,.6);vertical-align:-1px;margin-right:4px}
`;

/** Keeps "x min ago" true between refreshes: the page may be a static file served for minutes. formatAge's own source (the build emits plain ES2022). */
const SCRIPT = `
(function(){
  ${formatAge.toString()}
  function update(){var list=document.querySelectorAll('[data-time]');for(var i=0;i<list.length;i++){list[i].textContent=formatAge(Date.now()-Number(list[i].getAttribute('data-time')));}}
  update();setInterval(update,30000);
})();
`;

function renderFigures(module: ModuleSnapshot): string {
  const windows = Object.keys(module.availability) as Array<keyof ModuleSnapshot['availability']>;
  const row = (name: 'availability' | 'reliability', label: string, hint: string): string =>
    `<tr title="${escapeHtml(hint)}"><th scope="row">${label}</th>${windows.map((window) => `<td class="${name}-${window}">${formatAvailability(module[name][window])}</td>`).join('')}</tr>`;
  return `<table class="figures"><thead><tr><th></th>${windows.map((window) => `<th scope="col">${window}</th>`).join('')}</tr></thead><tbody>
${row('availability', 'Availability', 'Time up (available or degraded) over time with a known state, scheduled downtime counted as down')}
${row('reliability', 'Reliability', 'As availability, with scheduled downtime left out')}
</tbody></table>`;
}

/** The colours of the 90-day bar's cells, by the day's worst state. */
const DAY_STYLE = [...(Object.entries(LIGHT_COLOURS) as Array<[ShownState, string]>), ['none', NO_DATA_COLOUR]].map(([state, colour]) => `.day-${state}{background:${colour}}`).join('\n');

function renderDays(module: ModuleSnapshot): string {
  const cells = module.history
    // Coloured by class (DAY_STYLE): 90 inline styles per module would weigh on a page of many modules.
    .map((cell) => `<span class="day-${cell.worst ?? 'none'}" title="${escapeHtml(dayTitle(cell))}"></span>`)
    .join('');
  return `<div class="days" role="img" aria-label="Last ${module.history.length} days">${cells}</div>
<div class="axis"><span>${module.history.length} days ago</span><span>today</span></div>`;
}

function renderModule(module: ModuleSnapshot, generatedMs: number): string {
  const colour = LIGHT_COLOURS[module.shown];
  const shownText = SHOWN_WORDS[module.shown];
  const age = (ms: number | null): string =>
    ms === null ? 'none recent' : `<span data-time="${ms}" title="${escapeHtml(utc(ms))}">${escapeHtml(formatAge(generatedMs - ms))}</span>`;
  const totalMs = module.timeline.reduce((sum, segment) => sum + segment.toMs - segment.fromMs, 0) || 1;
  const strip = module.timeline
    .map((segment) => {
      const width = ((segment.toMs - segment.fromMs) / totalMs) * 100;
      const label = `${utc(segment.fromMs)} – ${utc(segment.toMs)}: ${SHOWN_WORDS[segment.state]}`;
      return `<span class="segment segment-${segment.state}" style="width:${width.toFixed(4)}%;background:${LIGHT_COLOURS[segment.state]}" title="${escapeHtml(label)}"></span>`;
    })
    .join('');
  // Relative to the page at /status, so the link still works below a reverse proxy's path prefix.
  const details = escapeHtml(module.detailsUrl.replace(/^\/+/, ''));
  const dashboard = module.dashboardUrl ? ` · <a class="dashboard" href="${escapeHtml(module.dashboardUrl)}">Dashboard</a>` : '';
  const since = module.sinceMs === null ? '' : `${escapeHtml(shownText)} since ${escapeHtml(utc(module.sinceMs))} · `;
  const downtime = module.downtime ? `<p class="downtime-note">Scheduled downtime: ${escapeHtml(module.downtime.reason)}</p>` : '';
  return `<section class="module state-${module.shown}" id="module-${escapeHtml(module.module)}" data-module="${escapeHtml(module.module)}" data-state="${module.state}" data-shown="${module.shown}">
<div class="head"><a class="light-link" href="${details}" title="Details of ${escapeHtml(module.title)}"><div class="light" style="background:${colour}" role="img" aria-label="${escapeHtml(shownText)}"></div></a>
<div class="name"><a href="${details}">${escapeHtml(module.title)}</a></div><div class="state">${escapeHtml(shownText)}</div></div>
${downtime}<p class="reason">${escapeHtml(module.reason)}</p>
<div class="meta">${since}${module.lastDataMs === null ? 'no recent data' : `last data ${age(module.lastDataMs)}`} · checked ${age(module.evaluatedMs)} · <a class="details" href="${details}">Details</a>${dashboard}</div>
${renderFigures(module)}
<div class="strip" role="img" aria-label="Last 24 hours">${strip}</div>
<div class="axis"><span>24 h ago</span><span>now</span></div>
${renderDays(module)}
</section>`;
}

function renderIncidents(incidents: Incident[], unlisted: number, generatedMs: number): string {
  const chip = (state: ShownState): string => `<i style="background:${LIGHT_COLOURS[state]}"></i>${escapeHtml(SHOWN_WORDS[state])}`;
  const items = incidents.slice(0, INCIDENTS_SHOWN).map((incident) => {
    const duration = incident.endMs === null ? `ongoing, for ${formatDuration(generatedMs - incident.startMs)}` : `lasted ${formatDuration(incident.durationMs)}`;
    return `<li class="incident" data-module="${escapeHtml(incident.module)}" data-to="${incident.to}"><b>${escapeHtml(incident.title)}</b> <span class="change">${chip(incident.from)} → ${chip(incident.to)}</span>
<div class="incident-reason">${escapeHtml(incident.reason)}</div>
<div class="when">from ${escapeHtml(utc(incident.startMs))}${incident.endMs === null ? '' : ` to ${escapeHtml(utc(incident.endMs))}`} · <span class="duration">${escapeHtml(duration)}</span></div></li>`;
  });
  const rest = incidents.length - items.length;
  const more =
    (rest > 0 ? `<p class="more">and ${rest} older (in <a href="status.json">status.json</a>)</p>` : '') +
    (unlisted > 0 ? `<p class="more">and ${unlisted} more changes of modules that changed more than ${INCIDENTS_PER_MODULE} times</p>` : '');
  const list = items.length ? `<ol>\n${items.join('\n')}\n</ol>` : '<p>No change in the last 30 days.</p>';
  return `<section class="incidents" id="incidents"><h2>Incidents, last 30 days (${incidents.length + unlisted})</h2>
${list}${more}</section>`;
}

/** The whole traffic-light page: one self-contained HTML document (inline CSS and JS, no external resource). */
export function renderStatusPage(snapshot: StatusSnapshot): string {
  const legend = (Object.entries(LIGHT_COLOURS) as Array<[ShownState, string]>)
    .map(([state, colour]) => `<span><i style="background:${colour}"></i>${escapeHtml(SHOWN_WORDS[state])}</span>`)
    .join('');
  const modules = snapshot.modules.length
    ? snapshot.modules.map((module) => renderModule(module, snapshot.generatedMs)).join('\n')
    : '<p>No module is configured: see [status.module.*] in the config.</p>';
  return htmlPage({
    title: snapshot.title,
    refreshSeconds: snapshot.refreshSeconds,
    style: `${STYLE}${DAY_STYLE}\n`,
    body: `<header><h1>${escapeHtml(snapshot.title)}</h1><p>Updated ${escapeHtml(utc(snapshot.generatedMs))} · refreshes every ${snapshot.refreshSeconds} s</p><div class="legend">${legend}</div></header>
<main>
${modules}
</main>
${renderIncidents(snapshot.incidents, snapshot.unlistedIncidents ?? 0, snapshot.generatedMs)}`,
    script: SCRIPT,
  });
}

/** The skeleton of every status page: `title` is escaped here; `head` goes before the style, `script` last in the body. */
export function htmlPage(page: { title: string; refreshSeconds?: number; head?: string; style: string; body: string; script?: string }): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${page.refreshSeconds === undefined ? '' : `<meta http-equiv="refresh" content="${page.refreshSeconds}">\n`}<title>${escapeHtml(page.title)}</title>
${page.head === undefined ? '' : `${page.head}\n`}<style>${page.style}</style>
</head>
<body>
${page.body}
${page.script === undefined ? '' : `<script>${page.script}</script>\n`}</body>
</html>
`;
}

/**
 * The page a browser gets while the rules cannot be read: what is wrong, what to do, and a reload
 * every retry interval, so that it turns into the status page once the rules are fixed.
 */
export function rulesBrokenPage(why: string, configName: string, seconds: number): string {
  return htmlPage({
    title: 'Status rules cannot be read',
    refreshSeconds: seconds,
    style: `${BASE_STYLE}
main{max-width:760px;margin:16px auto;padding:0 12px}
section{${CARD_DECLARATIONS}}
.problem{font-family:ui-monospace,monospace;white-space:pre-wrap;overflow-wrap:anywhere}
`,
    body: `<header><div class="head"><div class="light" style="background:${LIGHT_COLOURS.unavailable}"></div><h1>Status rules cannot be read</h1></div></header>
<main><section>
<p class="problem" id="problem">${escapeHtml(why)}</p>
<p class="todo" id="todo">Fix ${escapeHtml(configName)}: the pages come back within ${seconds} s; the status job fails until then. Ingestion goes on.</p>
<p class="meta">This page reloads every ${seconds} s.</p>
</section></main>`,
  });
}

/** The body of /status.json. */
export function renderStatusJson(snapshot: StatusSnapshot): string {
  return JSON.stringify(snapshot, null, 2) + '\n';
}
