import { readFileSync } from 'node:fs';
import path from 'node:path';
import { COLLECTORS_DIR } from '../../lib/config/paths';
import { defineDemo } from '../../scripts/quickstart/components';

const recorded = (file: string): string => readFileSync(path.join(COLLECTORS_DIR, 'panda', 'testdata', file), 'utf8');

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
    '/api/core/federation/query/': { contentType: 'application/json', body: () => recorded('wlcg-federations.json') },
    '/rucio/rse-usage': { contentType: 'application/json', body: () => recorded('placement-rucio.json') },
  },
});
