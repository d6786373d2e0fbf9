/**
 * Throughput of the logs collector's reader (chunked, complete lines only, offsets) against the
 * simplest approach measured in the same run: read the whole file, split it, test each line.
 * Run: npm run build && node dist/bench/logs.js [megabytes]
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { readCompleteLines } from '../collectors/logs/reader';
import { PROJECT_ROOT } from '../lib/config/paths';

const megabytes = Number(process.argv[2] ?? 64);
const dir = path.join(PROJECT_ROOT, 'var', 'bench');
mkdirSync(dir, { recursive: true });
const file = path.join(dir, 'logs-bench.log');
const regex = /import finished/;

const lines: string[] = [];
let size = 0;
for (let index = 0; size < megabytes * 1024 * 1024; index++) {
  const line = `2026-11-22T10:${String(index % 60).padStart(2, '0')}:00Z INFO [consumer-${index % 16}] ${index % 50 === 0 ? 'import finished' : 'processed event batch'} id=${index} size=${(index * 7919) % 100000}`;
  lines.push(line);
  size += line.length + 1;
}
writeFileSync(file, lines.join('\n') + '\n');
const bytes = readFileSync(file).length;

async function best(label: string, run: () => Promise<number>): Promise<number> {
  let fastest = Infinity;
  let matches = 0;
  for (let round = 0; round < 3; round++) {
    const started = performance.now();
    matches = await run();
    fastest = Math.min(fastest, performance.now() - started);
  }
  console.log(`${label.padEnd(40)} ${(bytes / 1048576 / (fastest / 1000)).toFixed(0).padStart(6)} MB/s  (${matches} matches)`);
  return fastest;
}

async function main(): Promise<void> {
  console.log(`file: ${(bytes / 1048576).toFixed(1)} MB, ${lines.length} lines`);
  const baseline = await best('baseline: readFileSync + split + test', async () => {
    let matches = 0;
    for (const line of readFileSync(file, 'utf8').split('\n')) if (regex.test(line)) matches++;
    return matches;
  });
  const reader = await best('readCompleteLines (1 MiB chunks)', async () => {
    let matches = 0;
    await readCompleteLines(file, 0, bytes, (line) => {
      if (regex.test(line)) matches++;
    }, new AbortController().signal);
    return matches;
  });
  console.log(`reader time / baseline time: ${(reader / baseline).toFixed(2)}`);
}

void main();
