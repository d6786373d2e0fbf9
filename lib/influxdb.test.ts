import { getEventListeners } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { freePort } from '../test/support/ports';
import { startInfluxDB, type TestInfluxDB } from '../test/support/services';
import { InfluxClient, InfluxError, type Series } from './influxdb';

const DATABASE = 'streaming_test';
const START = Date.UTC(2026, 10, 1);

let influx: TestInfluxDB;

beforeAll(async () => {
  influx = await startInfluxDB();
  await influx.client.ensureDatabase(DATABASE, { raw: 'INF', '1h': 'INF', '1d': 'INF' });
  // 300 small series, and one of 25,000 points: InfluxDB sends that one in pieces of 10,000.
  const lines: string[] = [];
  for (let series = 0; series < 300; series++) {
    for (let slot = 0; slot < 3; slot++) lines.push(`load,host=h${series},rack=r${series % 7} value=${series * 10 + slot}i ${START + slot * 600_000}`);
  }
  for (let slot = 0; slot < 25_000; slot++) lines.push(`long,host=big value=${slot}i ${START + slot * 1000}`);
  await influx.client.write(DATABASE, lines.join('\n'));
});
afterAll(async () => {
  await influx?.stop();
});

async function streamed(client: InfluxClient, text: string): Promise<Series[]> {
  const received: Series[] = [];
  await client.querySeries(text, (series) => received.push(series), { database: DATABASE });
  return received;
}

describe('querySeries streams an answer series by series', () => {
  test('the same series as query() gives, in the same order', async () => {
    const text = 'SELECT sum(value), count(value) FROM load GROUP BY time(20m), host, rack fill(none)';
    const [whole] = await influx.client.query(text, { database: DATABASE });
    const received = await streamed(influx.client, text);
    expect(received).toHaveLength(300);
    expect(received).toEqual(whole);
  });

  test('a series sent in pieces arrives whole, once', async () => {
    const received = await streamed(influx.client, 'SELECT value FROM long GROUP BY host');
    expect(received).toHaveLength(1);
    expect(received[0].tags).toEqual({ host: 'big' });
    expect(received[0].values).toHaveLength(25_000);
    expect(received[0].values[24_999]).toEqual([START + 24_999_000, 24_999]);
  });

  test('an empty answer calls nothing', async () => {
    expect(await streamed(influx.client, `SELECT value FROM load WHERE time < ${START - 1000}ms`)).toEqual([]);
  });

  test("InfluxDB's refusals throw its own message", async () => {
    await expect(streamed(influx.client, 'SELECT FROM')).rejects.toMatchObject({ name: 'InfluxError', status: 400, message: expect.stringMatching(/HTTP 400: error parsing query/) });
    await expect(influx.client.querySeries('SELECT value FROM load', () => undefined, { database: 'no_such_database' })).rejects.toMatchObject({
      status: 400,
      message: expect.stringContaining('database not found: no_such_database'),
    });
  });

  test('InfluxDB down: an InfluxError that says it could not be reached', async () => {
    const down = new InfluxClient(`http://127.0.0.1:${await freePort()}`);
    const error = await streamed(down, 'SELECT value FROM load').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(InfluxError);
    expect(error).toMatchObject({ status: 0, unreachable: true, message: expect.stringContaining('ECONNREFUSED') });
  });

  test('an answer cut short is an error, not a shorter answer', async () => {
    // A server that sends one whole piece, then half of the next, then closes.
    const server = http.createServer((request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('{"results":[{"statement_id":0,"series":[{"name":"load","tags":{"host":"a"},"columns":["time","value"],"values":[[1,1]]}]}]}\n');
      response.end('{"results":[{"statement_id":0,"series":[{"name":"lo');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const client = new InfluxClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
      const received: Series[] = [];
      await expect(client.querySeries('SELECT value FROM load', (series) => received.push(series))).rejects.toThrow(/not JSON \(cut short\?\)/);
      expect(received).toHaveLength(1);
    } finally {
      server.close();
    }
  });

  test('an answer that ends cleanly inside a series (its last piece partial) is an error, not a shorter series', async () => {
    const server = http.createServer((request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end('{"results":[{"statement_id":0,"series":[{"name":"load","tags":{"host":"a"},"columns":["time","value"],"values":[[1,1]],"partial":true}]}]}\n');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const client = new InfluxClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
      const received: Series[] = [];
      await expect(client.querySeries('SELECT value FROM load', (series) => received.push(series))).rejects.toThrow(/cut short inside series load \{"host":"a"\}/);
      expect(received).toEqual([]);
    } finally {
      server.close();
    }
  });

  test('queries sharing one signal leave no listener on it once answered', async () => {
    // got keeps its abort listener on a finished stream: twelve history queries on one signal used to print
    // a MaxListenersExceededWarning into the job's log, and each kept its request reachable.
    const controller = new AbortController();
    for (let query = 0; query < 12; query++) {
      await influx.client.querySeries('SELECT value FROM load GROUP BY host', () => undefined, { database: DATABASE, signal: controller.signal });
    }
    await expect(influx.client.querySeries('SELECT FROM', () => undefined, { signal: controller.signal })).rejects.toBeInstanceOf(InfluxError);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  test('an aborted query stops with an error', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(influx.client.querySeries('SELECT value FROM long GROUP BY host', () => undefined, { database: DATABASE, signal: controller.signal })).rejects.toBeInstanceOf(InfluxError);
  });
});
