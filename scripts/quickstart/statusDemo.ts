/**
 * The quickstart's downtime feed for the status job: GOCDB's get_downtime XML, with times computed from
 * the request's time, so that the demo web module is under a scheduled downtime for the first half of
 * every UTC hour and a new user soon sees the downtime colour. One "at risk" WARNING beside it shows
 * what does not count (status/README.md, "Scheduled downtime and reliability").
 */
import { defineDemo } from './components';

/** The hostname [status.module.web] downtime_hostnames names in the quickstart's config. */
export const DEMO_DOWNTIME_HOSTNAME = 'demo-portal.quickstart';
const HOUR = 3_600_000;

const gocdbDate = (ms: number): string => new Date(ms).toISOString().slice(0, 16).replace('T', ' ');

function downtimeElement(id: number, classification: string, severity: string, startMs: number, endMs: number, description: string): string {
  return `  <DOWNTIME ID="${id}" PRIMARY_KEY="${id}G0" CLASSIFICATION="${classification}">
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

/** The feed at `nowMs`: this hour's and the next hour's half-hour outages, and a warning in between. */
export function demoDowntimeFeed(nowMs: number): string {
  const hourMs = Math.floor(nowMs / HOUR) * HOUR;
  const id = Math.floor(hourMs / HOUR) % 100_000;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<results>',
    downtimeElement(id * 10, 'SCHEDULED', 'OUTAGE', hourMs, hourMs + HOUR / 2, 'Demo: the web portal is rebooted for the first half of every hour'),
    downtimeElement(id * 10 + 1, 'SCHEDULED', 'WARNING', hourMs + HOUR / 2, hourMs + HOUR, 'Demo: at risk, not a downtime'),
    downtimeElement((id + 1) * 10, 'SCHEDULED', 'OUTAGE', hourMs + HOUR, hourMs + 1.5 * HOUR, 'Demo: the web portal is rebooted for the first half of every hour'),
    '</results>',
    '',
  ].join('\n');
}

export default defineDemo({
  routes: {
    '/status/gocdb-downtime': { contentType: 'application/xml', body: () => demoDowntimeFeed(Date.now()) },
  },
});
