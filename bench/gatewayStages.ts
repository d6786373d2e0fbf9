import { Gateway } from '../gateway/server';
import { TopLevelCounter } from '../gateway/body';
import { interpretDocument, type InterpretedDocument } from '../lib/documents/interpret';
import { SeriesCollisions } from '../lib/documents/collisions';
import { schemaRegistry } from '../lib/documents/schemas';
import { decodeUtf8 } from '../lib/documents/utf8';
import { toLineProtocol } from '../lib/influx/lineProtocol';
import { Logger } from '../lib/run/log';
import { startInfluxDB } from '../test/support/services';
import { benchDocument } from './gateway';
import { median } from './support';

/**
 * The gateway's CPU per document stage by stage, in this process, on bench/gateway.ts's document mix
 * (bodies of 5,000): each stage alone over a body (its garbage collection included), then the whole
 * Gateway.ingest() writing to a private InfluxDB (everything but the HTTP server reading the body).
 * Each figure is the median of BENCH_REPEATS (default 9) passes; µs per document, user + system.
 */
const BODY_DOCUMENTS = 5000;
const REPEATS = Number(process.env.BENCH_REPEATS ?? 9);

function cpuMicroseconds(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

async function perDocument(label: string, pass: () => unknown, documentsPerPass: number): Promise<number> {
  for (let warm = 0; warm < 3; warm += 1) await pass();
  const figures: number[] = [];
  for (let repeat = 0; repeat < REPEATS; repeat += 1) {
    const before = cpuMicroseconds();
    await pass();
    figures.push((cpuMicroseconds() - before) / documentsPerPass);
  }
  const value = median(figures);
  console.log(`  ${value.toFixed(2).padStart(6)} µs  ${label}`);
  return value;
}

async function main(): Promise<void> {
  const base = Date.now() - 3_600_000;
  const registry = schemaRegistry();
  const text = JSON.stringify(Array.from({ length: BODY_DOCUMENTS }, (_, index) => benchDocument(index, base)));
  const bytes = Buffer.from(text);
  const parsed = JSON.parse(text) as unknown[];
  const points = parsed.map((document) => {
    const result = interpretDocument(document, registry, base);
    if (!result.ok) throw new Error(result.reason);
    return result.point;
  });
  console.log(`stages, ${BODY_DOCUMENTS} documents per body (${(bytes.length / 1e6).toFixed(2)} MB), median of ${REPEATS}:`);
  await perDocument('count documents while reading (TopLevelCounter)', () => new TopLevelCounter().feed(bytes), BODY_DOCUMENTS);
  await perDocument('decode UTF-8', () => decodeUtf8(bytes), BODY_DOCUMENTS);
  await perDocument('JSON.parse', () => JSON.parse(text), BODY_DOCUMENTS);
  await perDocument('interpretDocument', () => parsed.map((document) => interpretDocument(document, registry, base)), BODY_DOCUMENTS);
  await perDocument(
    'same-series check',
    () => {
      const collisions = new SeriesCollisions();
      points.forEach((point, index) => collisions.check(index, point));
    },
    BODY_DOCUMENTS,
  );
  await perDocument('line protocol', () => points.map((point: InterpretedDocument) => toLineProtocol(point)), BODY_DOCUMENTS);
  const lines = points.map((point) => toLineProtocol(point));
  await perDocument('join lines, encode as UTF-8', () => Buffer.from(lines.join('\n')), BODY_DOCUMENTS);

  const influx = await startInfluxDB();
  try {
    const log = new Logger('bench', undefined, false, false);
    const gateway = new Gateway({
      influxdb: influx.client,
      durations: { raw: '30d', '1h': '400d', '1d': 'INF' },
      auth: { token: 'bench-token-0123456789', producerPasswords: new Map() },
      maxDocuments: 10_000,
      maxBodyBytes: 31_457_280,
      registry,
      log,
    });
    console.log('whole request in this process, to a private InfluxDB:');
    await perDocument(
      'Gateway.ingest (parse, check, line protocol, write)',
      async () => {
        const { status } = await gateway.ingest(text, { kind: 'any' });
        if (status !== 200) throw new Error(`ingest answered ${status}`);
      },
      BODY_DOCUMENTS,
    );
  } finally {
    await influx.stop();
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
