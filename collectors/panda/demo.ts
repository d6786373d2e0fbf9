import { readFileSync } from 'node:fs';
import path from 'node:path';
import { COLLECTORS_DIR } from '../../lib/config/paths';
import { defineDemo } from '../../scripts/quickstart/components';

const recorded = (file: string): string => readFileSync(path.join(COLLECTORS_DIR, 'panda', 'testdata', file), 'utf8');

/** PanDA's job statistics and CRIC's PanDA-queue description, recorded in their real shapes. */
export default defineDemo({
  routes: {
    '/server/panda/get_job_statistics_per_site_label_resource': { contentType: 'application/json', body: () => recorded('panda-small.json') },
    '/api/atlas/pandaqueue/query/': { contentType: 'application/json', body: () => recorded('cric-sample.json') },
  },
});
