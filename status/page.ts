import type { ModuleSnapshot, ShownState, StatusSnapshot } from './snapshot';

/** The colour of each light (the page also says the state in words); a scheduled downtime has its own. */
export const LIGHT_COLOURS: Record<ShownState, string> = {
  available: '#1e9e3e',
  degraded: '#f2c200',
  unavailable: '#d32f2f',
  na: '#ffffff',
  downtime: '#2f6fd1',
};

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

function utc(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
}

const STYLE = `
*{box-sizing:border-box}
body{margin:0;font:15px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f4f5f7;color:#1d2329}
header{padding:12px 16px;background:#1d2329;color:#fff}
header h1{margin:0;font-size:1.25rem}
header p{margin:2px 0 0;font-size:.85rem;color:#c9d1d9}
main{max-width:1100px;margin:0 auto;padding:12px;display:grid;gap:12px;grid-template-columns:repeat(auto-fill,minmax(300px,1fr))}
.module{background:#fff;border-radius:8px;padding:12px 14px;box-shadow:0 1px 3px rgba(0,0,0,.12)}
.head{display:flex;align-items:center;gap:10px}
.light{flex:none;width:28px;height:28px;border-radius:50%;border:2px solid rgba(0,0,0,.25)}
.name{font-weight:600;font-size:1.05rem;flex:1;min-width:0;overflow-wrap:anywhere}
.state{font-weight:700}
.reason{margin:8px 0 4px;overflow-wrap:anywhere}
.meta{font-size:.85rem;color:#57606a}
.availability{display:flex;gap:12px;margin:8px 0 6px;font-size:.9rem}
.availability b{display:block;font-size:1rem}
.strip{display:flex;height:14px;border:1px solid #c9ccd1;border-radius:3px;overflow:hidden;background:#fff}
.strip span{display:block;height:100%}
.axis{display:flex;justify-content:space-between;font-size:.75rem;color:#57606a}
a{color:#0b5cad}
.legend{display:flex;flex-wrap:wrap;gap:10px;font-size:.85rem;margin-top:6px}
.legend i{display:inline-block;width:12px;height:12px;border-radius:50%;border:1px solid rgba(255,255,255,.6);vertical-align:-1px;margin-right:4px}
`;

/** Keeps "x min ago" true between refreshes: the page may be a static file served for minutes. */
const SCRIPT = `
(function(){
  function age(ms){var m=Math.floor(ms/60000);if(m<1)return 'just now';if(m<60)return m+' min ago';var h=Math.floor(m/60);if(h<48)return h+' h '+(m%60)+' min ago';return Math.floor(h/24)+' d ago';}
  function update(){var list=document.querySelectorAll('[data-time]');for(var i=0;i<list.length;i++){list[i].textContent=age(Date.now()-Number(list[i].getAttribute('data-time')));}}
  update();setInterval(update,30000);
})();
`;

function renderModule(module: ModuleSnapshot, generatedMs: number): string {
  const colour = LIGHT_COLOURS[module.shown];
  const age = (ms: number | null): string =>
    ms === null ? 'none recent' : `<span data-time="${ms}" title="${escapeHtml(utc(ms))}">${escapeHtml(formatAge(generatedMs - ms))}</span>`;
  const totalMs = module.timeline.reduce((sum, segment) => sum + segment.toMs - segment.fromMs, 0) || 1;
  const strip = module.timeline
    .map((segment) => {
      const width = ((segment.toMs - segment.fromMs) / totalMs) * 100;
      const label = `${utc(segment.fromMs)} – ${utc(segment.toMs)}: ${segment.state === 'na' ? 'N/A' : segment.state}`;
      return `<span class="segment segment-${segment.state}" style="width:${width.toFixed(4)}%;background:${LIGHT_COLOURS[segment.state]}" title="${escapeHtml(label)}"></span>`;
    })
    .join('');
  const availability = (Object.entries(module.availability) as Array<[string, number | null]>)
    .map(([window, value]) => `<div class="availability-${window}">${window}<b>${formatAvailability(value)}</b></div>`)
    .join('');
  const dashboard = module.dashboardUrl ? ` · <a href="${escapeHtml(module.dashboardUrl)}">Dashboard</a>` : '';
  const since = module.sinceMs === null ? '' : `${escapeHtml(module.stateText)} since ${escapeHtml(utc(module.sinceMs))} · `;
  return `<section class="module state-${module.state}" id="module-${escapeHtml(module.module)}" data-module="${escapeHtml(module.module)}" data-state="${module.state}">
<div class="head"><div class="light" style="background:${colour}" role="img" aria-label="${escapeHtml(module.stateText)}"></div>
<div class="name">${escapeHtml(module.title)}</div><div class="state">${escapeHtml(module.stateText)}</div></div>
<p class="reason">${escapeHtml(module.reason)}</p>
<div class="meta">${since}${module.lastDataMs === null ? 'no recent data' : `last data ${age(module.lastDataMs)}`} · checked ${age(module.evaluatedMs)}${dashboard}</div>
<div class="availability" title="Availability: time up (available or degraded) over time with a known state">${availability}</div>
<div class="strip" role="img" aria-label="Last 24 hours">${strip}</div>
<div class="axis"><span>24 h ago</span><span>now</span></div>
</section>`;
}

/** The whole traffic-light page: one self-contained HTML document (inline CSS and JS, no external resource). */
export function renderStatusPage(snapshot: StatusSnapshot): string {
  const legend = (Object.entries(LIGHT_COLOURS) as Array<[ShownState, string]>)
    .map(([state, colour]) => `<span><i style="background:${colour}"></i>${state === 'na' ? 'N/A' : state[0].toUpperCase() + state.slice(1)}</span>`)
    .join('');
  const modules = snapshot.modules.length
    ? snapshot.modules.map((module) => renderModule(module, snapshot.generatedMs)).join('\n')
    : '<p>No module is configured: see [status.module.*] in the config.</p>';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="${snapshot.refreshSeconds}">
<title>${escapeHtml(snapshot.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header><h1>${escapeHtml(snapshot.title)}</h1><p>Updated ${escapeHtml(utc(snapshot.generatedMs))} · refreshes every ${snapshot.refreshSeconds} s</p><div class="legend">${legend}</div></header>
<main>
${modules}
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;
}

/** The body of /status.json. */
export function renderStatusJson(snapshot: StatusSnapshot): string {
  return JSON.stringify(snapshot, null, 2) + '\n';
}
