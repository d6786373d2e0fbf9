/**
 * The quickstart's downtime feed for the status job: GOCDB's get_downtime XML with one short scheduled
 * outage of the demo web module every UTC hour, the slot at :20–:30, so that a new user soon sees the
 * downtime colour while availability stays near 83 % and reliability 100 %. One "at risk" WARNING per
 * hour (:40–:50) shows what does not count (status/README.md, "Scheduled downtime and reliability").
 * The hours are those of the request's windowstart/windowend (GOCDB's YYYY-MM-DD dates, both days
 * included), as the status job asks, so a backfill of earlier hours sees their outages; without a
 * window, this hour and the next.
 */
import { defineDemo } from './components';

/** The hostname [status.module.web] downtime_hostnames names in the quickstart's config. */
export const DEMO_DOWNTIME_HOSTNAME = 'demo-portal.quickstart';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** The longest window answered: a mistyped year must not make an answer of millions of hours. */
const MAX_WINDOW_DAYS = 31;

const gocdbDate = (ms: number): string => new Date(ms).toISOString().slice(0, 16).replace('T', ' ');

function downtimeElement(id: number, severity: string, startMs: number, endMs: number, description: string): string {
  return `  <DOWNTIME ID="${id}" PRIMARY_KEY="${id}G0" CLASSIFICATION="SCHEDULED">
    <PRIMARY_KEY>${id}G0</PRIMARY_KEY>
    <HOSTNAME>${DEMO_DOWNTIME_HOSTNAME}</HOSTNAME>
    <SERVICE_TYPE>eu.atlas.eventindex.web</SERVICE_TYPE>
    <ENDPOINT>${DEMO_DOWNTIME_HOSTNAME}eu.atlas.eventindex.web</ENDPOINT>
    <HOSTED_BY>QUICKSTART</HOSTED_BY>
    <AFFECTED_ENDPOINTS/>
    <SEVERITY>${severity}</SEVERITY>
    <DESCRIPTION>${description}</DESCRIPTION>
    <INSERT_DATE>${Math.floor((startMs - HOUR) / 1000)}</INSERT_DATE>
    <START_DATE>${Math.floor(startMs / 1000)}</START_DATE>
    <END_DATE>${Math.floor(endMs / 1000)}</END_DATE>
    <FORMATED_START_DATE>${gocdbDate(startMs)}</FORMATED_START_DATE>
    <FORMATED_END_DATE>${gocdbDate(endMs)}</FORMATED_END_DATE>
  </DOWNTIME>`;
}

/** The hours [fromMs, toMs) the answer covers. */
export interface FeedWindow {
  fromMs: number;
  toMs: number;
}

function gocdbDay(text: string, key: string): number {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  const ms = match ? Date.UTC(+match[1], +match[2] - 1, +match[3]) : NaN;
  if (!match || new Date(ms).toISOString().slice(0, 10) !== text) throw new Error(`${key}: expected a date YYYY-MM-DD, got "${text}"`);
  return ms;
}

/** The window a request asks for (windowstart/windowend, either may be missing), else this hour and the next. */
export function requestWindow(url: URL, nowMs: number): FeedWindow {
  const start = url.searchParams.get('windowstart');
  const end = url.searchParams.get('windowend');
  const hourMs = Math.floor(nowMs / HOUR) * HOUR;
  if (start === null && end === null) return { fromMs: hourMs, toMs: hourMs + 2 * HOUR };
  const fromMs = start === null ? Math.floor(nowMs / DAY) * DAY : gocdbDay(start, 'windowstart');
  // windowend's day is included.
  const toMs = (end === null ? Math.floor(nowMs / DAY) * DAY : gocdbDay(end, 'windowend')) + DAY;
  if (toMs <= fromMs) throw new Error(`windowend (${end}) is before windowstart (${start})`);
  if (toMs - fromMs > MAX_WINDOW_DAYS * DAY) throw new Error(`the window ${start}..${end} is longer than ${MAX_WINDOW_DAYS} days`);
  return { fromMs, toMs };
}

/** The feed over `window`: every hour's outage at :20–:30 and warning at :40–:50. */
export function demoDowntimeFeed(window: FeedWindow): string {
  const elements: string[] = [];
  for (let hourMs = Math.floor(window.fromMs / HOUR) * HOUR; hourMs < window.toMs; hourMs += HOUR) {
    const id = (Math.floor(hourMs / HOUR) % 100_000) * 10;
    elements.push(
      downtimeElement(id, 'OUTAGE', hourMs + 20 * MINUTE, hourMs + 30 * MINUTE, 'Demo: the web portal is rebooted at :20 every hour'),
      downtimeElement(id + 1, 'WARNING', hourMs + 40 * MINUTE, hourMs + 50 * MINUTE, 'Demo: at risk, not a downtime'),
    );
  }
  return ['<?xml version="1.0" encoding="UTF-8"?>', '<results>', ...elements, '</results>', ''].join('\n');
}

/** The answer to a request at `nowMs`: the feed, or GOCDB-like 400 for a window it cannot read. */
function answer(url: URL, nowMs: number): { status: number; body: string } {
  try {
    return { status: 200, body: demoDowntimeFeed(requestWindow(url, nowMs)) };
  } catch (error) {
    return { status: 400, body: `<?xml version="1.0" encoding="UTF-8"?>\n<error>${(error as Error).message}</error>\n` };
  }
}

export default defineDemo({
  routes: {
    '/status/gocdb-downtime': {
      contentType: 'application/xml',
      body: (url) => answer(url, Date.now()).body,
      status: (url) => answer(url, Date.now()).status,
    },
  },
});
