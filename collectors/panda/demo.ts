import { readFileSync } from 'node:fs';
import path from 'node:path';
import { COLLECTORS_DIR } from '../../lib/config/paths';
import { defineDemo } from '../../scripts/quickstart/components';

const recorded = (file: string): string => readFileSync(path.join(COLLECTORS_DIR, 'panda', 'testdata', file), 'utf8');

type Pledges = Record<string, unknown>;

/**
 * The recorded federations, with the pledges of their last recorded year also given for the current year, so a
 * quickstart run in a later year still shows pledges (WLCG CRIC lists the years to come too).
 */
export function federationsThisYear(text: string, nowMs = Date.now()): string {
  const year = String(new Date(nowMs).getUTCFullYear());
  const federations = JSON.parse(text) as Record<string, { pledges?: Record<string, Pledges> }>;
  for (const federation of Object.values(federations)) {
    const pledges = federation.pledges;
    if (!pledges || year in pledges) continue;
    const last = Object.keys(pledges).sort().at(-1);
    if (last !== undefined) pledges[year] = pledges[last];
  }
  return JSON.stringify(federations);
}

/**
 * PanDA's job statistics (the v1 API's envelope, zero-filled states, a null resource type), CRIC's PanDA-queue,
 * site and DDM descriptions, WLCG CRIC's federations and Rucio's RSE usage rows, recorded in their real shapes:
 * analysis jobs run on queues whose read_lan DATADISK has placed data, so the quickstart shows cores, HS06 and
 * the DAOD distribution.
 */
export default defineDemo({
  routes: {
    '/api/v1/statistics/job_stats_by_site_share_and_resource_type': { contentType: 'application/json', body: () => recorded('panda-v1-atlas.json') },
    // The legacy path answers the tree itself, as the real one does (a configuration from before the v1 API).
    '/server/panda/get_job_statistics_per_site_label_resource': { contentType: 'application/json', body: () => JSON.stringify((JSON.parse(recorded('panda-v1-atlas.json')) as { data: unknown }).data) },
    '/api/atlas/pandaqueue/query/': { contentType: 'application/json', body: () => recorded('cric-pandaqueues.json') },
    '/api/atlas/site/query/': { contentType: 'application/json', body: () => recorded('cric-sites.json') },
    '/api/atlas/ddmendpoint/query/': { contentType: 'application/json', body: () => recorded('cric-ddmendpoints.json') },
    '/api/core/federation/query/': { contentType: 'application/json', body: () => federationsThisYear(recorded('wlcg-federations.json')) },
    '/rucio/rse-usage': { contentType: 'application/json', body: () => recorded('placement-rucio.json') },
  },
});
