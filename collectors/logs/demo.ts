import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { defineDemo } from '../../scripts/quickstart/components';

/** An import log the demo server appends to every 30 s ([demo] log_file), for the logs collector to count. */
export default defineDemo({
  onServerStart(config) {
    const file = config.section('demo').path('log_file', 'var/demo/import.log');
    mkdirSync(path.dirname(file), { recursive: true });
    let batch = 0;
    const writeLines = (): void => {
      batch += 1;
      const now = new Date().toISOString();
      appendFileSync(file, `${now} INFO import started batch=${batch}\n${now} INFO import finished batch=${batch}\n`);
      if (batch % 5 === 0) appendFileSync(file, `${now} ERROR import failed batch=${batch}\n`);
    };
    writeLines();
    setInterval(writeLines, 30_000).unref();
  },
});
