import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Config } from '../../lib/config/config';
import type { MonitDocument } from '../../lib/documents/types';
import { startReceiver } from '../../lib/queue/receiver';
import { collectedDocuments } from '../../lib/run/collector';
import { MemoryLogger } from '../../lib/run/log';
import { collectorContext } from '../../test/support/collectorContext';
import { startNatsCluster, type NatsCluster } from '../../test/support/nats';
import { testDir } from '../../test/support/services';
import { eventually } from '../../test/support/xrootdServer';
import collector from './collector';
import { runReceiverFromConfig, SUMMARY_STREAM } from './receiver';

/**
 * [xrootd] queue = stream: two `xrootd-receiver`s, as the service runs them from the config, publish
 * to the packet stream; one collector reads it. A local receiver gets the same reports from the same
 * servers: its collector's documents are what the stream route must produce.
 */
const SAMPLE = readFileSync(path.join(__dirname, 'testdata', 'summary-report-sample.xml'), 'utf8');

/** The recorded report of server `src` as made at `tod` with `bytesIn` received. */
function report(src: string, tod: number, bytesIn: number): Buffer {
  return Buffer.from(SAMPLE.replace(/src="[^"]*"/, `src="${src}"`).replace(/tod="\d+"/, `tod="${tod}"`).replace(/<in>\d+<\/in>/, `<in>${bytesIn}</in>`));
}

let cluster: NatsCluster;
beforeAll(async () => {
  cluster = await startNatsCluster({ nodes: 1 });
}, 120_000);
afterAll(async () => {
  await cluster?.stop();
});

async function collect(configText: string, stateDir: string): Promise<MonitDocument[]> {
  const context = collectorContext('xrootd', configText, { stateDir });
  const result = await collector.collect(context);
  if (Array.isArray(result)) throw new Error('expected { documents, commit }');
  const documents = collectedDocuments(result);
  await result.commit?.();
  expect(context.problems).toEqual([]);
  return documents.sort((a, b) => (String(a._id) < String(b._id) ? -1 : 1));
}

test('two receivers publish their reports to the stream: the collector makes the documents of the local queue', async () => {
  const work = testDir('xrootd-stream');
  const stream = `[stream]\nservers = ${cluster.servers.join(', ')}\n`;
  const local = await startReceiver({ ...SUMMARY_STREAM, host: '127.0.0.1', port: 0, queueDir: path.join(work, 'local'), maxQueueBytes: 1 << 30, log: new MemoryLogger() });
  const stop = new AbortController();
  const receivers = ['site-a', 'site-b'].map((name) => {
    const config = Config.parse(`[xrootd]\nqueue = stream\nqueue_dir = ${path.join(work, name)}\n[xrootd-receiver]\nlisten = 127.0.0.1:0\nreceiver_name = ${name}\n${stream}`);
    const log = new MemoryLogger('xrootd-receiver');
    return { name, log, running: runReceiverFromConfig(config, log, stop.signal) };
  });
  const ports = await Promise.all(
    receivers.map(({ log }) =>
      eventually(async () => {
        const match = log.lines.map((line) => /listening for xrd\.report packets on udp 127\.0\.0\.1:(\d+), queue in .*, published from there to the stream as monit_xrootd\.summary\./.exec(line)).find(Boolean);
        return match ? Number(match[1]) : undefined;
      }),
    ),
  );

  // Server i reports three times, to site receiver i and to the local one.
  for (const [index, port] of ports.entries()) {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    for (let step = 0; step < 3; step += 1) {
      const data = report(`server${index}:1094`, 1795363300 + 10 * step, 1000 * (index + 1) * step);
      for (const target of [port, local.port]) await new Promise<void>((resolve, reject) => socket.send(data, target, '127.0.0.1', (error) => (error ? reject(error) : resolve())));
    }
    socket.close();
  }
  await eventually(async () => (local.counters.queued === 6 ? true : undefined));
  await local.stop();
  // Stopping closes the last segment and publishes it.
  stop.abort();
  await Promise.all(receivers.map(({ running }) => running));
  for (const { log } of receivers) expect(log.lines[log.lines.length - 1]).toMatch(/received=3 queued=3 .* published=3 messages=\d+ publish_errors=0$/);

  const fromLocal = await collect(`[xrootd]\nqueue_dir = ${path.join(work, 'local')}\n`, testDir('xrootd-stream-local-state'));
  const streamState = testDir('xrootd-stream-state');
  const fromStream = await collect(`[xrootd]\nqueue = stream\n${stream}`, streamState);
  expect(fromStream).toEqual(fromLocal);
  // Each server: 3 reports, 1000 × (i + 1) bytes more every 10 s.
  const summaries = fromStream.filter((document) => document.type === 'summary');
  expect(summaries.map((document) => [document.server, document.reports, document.link_in_rate]).sort()).toEqual([
    ['server0:1094', 3, 100],
    ['server1:1094', 3, 200],
  ]);
  // Acknowledged: the next run reads nothing more.
  const again = await collect(`[xrootd]\nqueue = stream\n${stream}`, streamState);
  expect(again).toEqual([]);
}, 120_000);
