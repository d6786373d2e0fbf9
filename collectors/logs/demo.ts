import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { defineDemo } from '../../scripts/quickstart/components';

/** "2026-12-06 07:01:02", the timestamp of the EventIndex Consumer's log lines. */
function consumerTime(date: Date): string {
  return date.toISOString().slice(0, 19).replace('T', ' ');
}

/**
 * Every 30 s, the demo server appends import lines to [demo] log_file and an EventIndex Consumer
 * batch line ("consumer batch done events=N duration_ms=N lag_s=N") to [demo] consumer_log_file,
 * for the logs collector's counts and values.
 */
export default defineDemo({
  onServerStart(config) {
    const demo = config.section('demo');
    const file = demo.path('log_file', 'var/demo/import.log');
    const consumerFile = demo.path('consumer_log_file', 'var/demo/consumer.log');
    for (const one of [file, consumerFile]) mkdirSync(path.dirname(one), { recursive: true });
    let batch = 0;
    const writeLines = (): void => {
      batch += 1;
      const date = new Date();
      const now = date.toISOString();
      appendFileSync(file, `${now} INFO import started batch=${batch}\n${now} INFO import finished batch=${batch}\n`);
      if (batch % 5 === 0) appendFileSync(file, `${now} ERROR import failed batch=${batch}\n`);
      const events = 15_000 + Math.floor(Math.random() * 10_000);
      const durationMs = Math.round(events / 4 + Math.random() * 1_500);
      const lagS = 20 + Math.floor(Math.random() * 40);
      appendFileSync(consumerFile, `${consumerTime(date)} INFO consumer batch done events=${events} duration_ms=${durationMs} lag_s=${lagS}\n`);
    };
    writeLines();
    setInterval(writeLines, 30_000).unref();
  },
});
