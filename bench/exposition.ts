import { readFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseExposition } from '../collectors/host/exposition';
import { PROJECT_ROOT } from '../lib/config/paths';
import { ratio } from './support';

/**
 * Cost of the host collector's strict exposition parser on a recorded node_exporter 1.5 answer
 * (~57 kB, ~500 samples), against the baseline of merely splitting the same text into lines and
 * fields in the same run. Shows what strictness (escapes, validation) costs per scrape.
 */
const ROUNDS = 2000;

function timeIt(task: () => unknown): number {
  for (let round = 0; round < 100; round++) task(); // warm-up
  const started = performance.now();
  for (let round = 0; round < ROUNDS; round++) task();
  return (performance.now() - started) / ROUNDS;
}

const text = readFileSync(path.join(PROJECT_ROOT, 'collectors', 'host', 'testdata', 'node_exporter-1.5.0.prom'), 'utf8');
const baselineMs = timeIt(() => text.split('\n').map((line) => line.split(' ')));
const parserMs = timeIt(() => parseExposition(text));
console.log(`split into lines and fields: ${(baselineMs * 1000).toFixed(0)} µs per answer (baseline)`);
console.log(`parseExposition:             ${(parserMs * 1000).toFixed(0)} µs per answer, ${ratio(parserMs, baselineMs)} the baseline`);
