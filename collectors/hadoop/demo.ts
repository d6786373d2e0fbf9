import { readFileSync } from 'node:fs';
import path from 'node:path';
import { COLLECTORS_DIR } from '../../lib/config/paths';
import { defineDemo } from '../../scripts/quickstart/components';

/** A NameNode's /jmx, answering ?qry=NAME like Hadoop's JMXJsonServlet, from a recorded dump. */
export default defineDemo({
  routes: {
    '/jmx': {
      contentType: 'application/json',
      body: (url) => {
        const dump = JSON.parse(readFileSync(path.join(COLLECTORS_DIR, 'hadoop', 'testdata', 'healthy.jmx.json'), 'utf8')) as { beans: Array<{ name: string }> };
        const query = url.searchParams.get('qry');
        return JSON.stringify({ beans: dump.beans.filter((bean) => !query || bean.name === query) });
      },
    },
  },
});
