import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import webCollector from '../collectors/web/collector';
import { collectorContext } from '../test/support/collectorContext';
import type { MonitDocument } from '../lib/documents/types';
import { ratio } from './support';

/**
 * Web probes with bounded concurrency: 48 URLs on a local server that answers each after 50 ms,
 * probed with concurrency 1 (the baseline: one at a time), 4, 8 and 16. Prints each run's wall time
 * and its speed-up over the baseline. With 48 × 50 ms of waiting, the ideal speed-up is the concurrency.
 */
const URLS = 48;
const DELAY_MS = 50;

async function main(): Promise<void> {
  const server = http.createServer((_request, response) => setTimeout(() => response.end('EventIndex'), DELAY_MS));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const urls = Array.from({ length: URLS }, (_, index) => `${base}/page/${index}`).join(', ');
  try {
    let baselineMs = 0;
    for (const concurrency of [1, 4, 8, 16]) {
      const context = collectorContext('web', `[web]\nexpect_text = EventIndex\nconcurrency = ${concurrency}\nurls = ${urls}\n`);
      const started = performance.now();
      const documents = (await webCollector.collect(context)) as MonitDocument[];
      const elapsedMs = performance.now() - started;
      if (documents.length !== URLS || documents.some((document) => document.up !== 1)) throw new Error('a probe failed');
      if (concurrency === 1) baselineMs = elapsedMs;
      console.log(`concurrency ${String(concurrency).padStart(2)}: ${elapsedMs.toFixed(0).padStart(5)} ms for ${URLS} probes, speed-up ${ratio(baselineMs, elapsedMs)} over one at a time`);
    }
  } finally {
    server.close();
  }
}

void main();
