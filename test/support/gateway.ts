import { MemoryLogger } from '../../lib/run/log';
import { SchemaRegistry, schemaRegistry } from '../../lib/documents/schemas';
import { InfluxClient } from '../../lib/influx/influxdb';
import { startGateway, type RunningGateway } from '../../gateway/server';
import type { TypeSchema } from '../../lib/documents/types';

export const TEST_TOKEN = 'test-token-0123456789';

/** A schema used only by tests: one field of each type. */
export const SAMPLE_SCHEMA: TypeSchema = {
  producer: 'test-producer',
  type: 'sample',
  description: 'Test documents.',
  tags: { site: { description: 'Site.' }, node: { description: 'Node.' } },
  fields: {
    count: { type: 'int', unit: 'count', description: 'A count.', downsample: 'sum' },
    ratio: { type: 'float', unit: '1', description: 'A ratio.', downsample: 'mean' },
    ok: { type: 'bool', unit: '', description: 'A flag.', downsample: 'last' },
    note: { type: 'string', unit: '', description: 'A text.', downsample: 'last' },
  },
};

export function testRegistry(): SchemaRegistry {
  return new SchemaRegistry([...schemaRegistry().all(), SAMPLE_SCHEMA]);
}

/** A gateway on a free port in front of `influxUrl`, with a bearer token and one producer password. */
export async function startTestGateway(influxUrl: string, options: { port?: number; maxBodyBytes?: number } = {}): Promise<RunningGateway & { log: MemoryLogger }> {
  const log = new MemoryLogger('gateway');
  const running = await startGateway(
    {
      influxdb: new InfluxClient(influxUrl, { timeoutMs: 10_000 }),
      durations: { raw: '30d', '1h': '400d', '1d': 'INF' },
      auth: { token: TEST_TOKEN, producerPasswords: new Map([['test-producer', 'producer-password']]) },
      maxDocuments: 10_000,
      maxBodyBytes: options.maxBodyBytes ?? 5_000_000,
      registry: testRegistry(),
      log,
    },
    '127.0.0.1',
    options.port ?? 0,
  );
  return { ...running, log };
}
