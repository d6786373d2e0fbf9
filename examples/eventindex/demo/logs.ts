/**
 * The log lines of an EventIndex consumer and importer, appended at every tick to the files that
 * [logs.pattern.ei_consumer_batches] and [logs.pattern.ei_import_failed] watch.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../../../lib/config/config';
import { PROJECT_ROOT } from '../../../lib/config/paths';
import { isFailing } from './switches';

function watchedFile(config: Config, section: string): string {
  const files = config.section(section).list('files');
  if (files.length !== 1) throw config.section(section).invalid('files', 'must name the one file the EventIndex demo writes');
  return path.resolve(PROJECT_ROOT, files[0]);
}

function append(file: string, lines: string[]): void {
  mkdirSync(path.dirname(file), { recursive: true });
  appendFileSync(file, lines.map((line) => `${line}\n`).join(''));
}

/** `2026-12-06 07:01:02`, as the services' log lines start. */
const stamp = (now: Date): string => now.toISOString().slice(0, 19).replace('T', ' ');

/**
 * Three consumer batches (lag of a minute at most; the consumer switch: 90 minutes behind, with errors)
 * and two finished imports (the import switch: six failures instead).
 */
export function tickLogs(config: Config, tick: number, now = new Date()): void {
  const consumerFailing = isFailing(config, 'consumer');
  const consumer: string[] = [];
  for (let batch = 0; batch < 3; batch += 1) {
    const events = 15_000 + ((tick * 3 + batch) % 11) * 1_000;
    const duration = 4_000 + ((tick + batch) % 5) * 700;
    const lag = consumerFailing ? 5_400 : 5 + ((tick * 7 + batch) % 50);
    consumer.push(`${stamp(now)} INFO consumer batch done events=${events} duration_ms=${duration} lag_s=${lag}`);
  }
  if (consumerFailing) for (let error = 0; error < 3; error += 1) consumer.push(`${stamp(now)} consumer ERROR cannot commit offsets: broker not available`);
  append(watchedFile(config, 'logs.pattern.ei_consumer_batches'), consumer);

  const importer = isFailing(config, 'import')
    ? Array.from({ length: 6 }, (_, index) => `${stamp(now)} ERROR import failed dataset=data24_13p6TeV.00${480000 + (tick % 20000)}.physics_Main.AOD part=${index} reason=HBase write timeout`)
    : [0, 1].map((index) => `${stamp(now)} INFO import done dataset=mc23_13p6TeV.00${480000 + (tick % 20000)}.physics_Main.AOD part=${index} events=${150_000 + index * 25_000}`);
  append(watchedFile(config, 'logs.pattern.ei_import_failed'), importer);
}
