import { getEventListeners } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { freePort } from '../../test/support/ports';
import { startInfluxDB, type TestInfluxDB } from '../../test/support/services';
import { type ChunkedSeries, InfluxClient, InfluxError, type Series } from './influxdb';

const DATABASE = 'streaming_test';
const START = Date.UTC(2026, 10, 1);

let influx: TestInfluxDB;

beforeAll(async () => {
  influx = await startInfluxDB();
  await influx.client.ensureDatabase(DATABASE, { raw: 'INF', '1h': 'INF', '1d': 'INF' });
  // 300 small series, and one of 25,000 points: a chunked answer sends that one in pieces.
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

type QueryOptions = { database?: string; signal?: AbortSignal };

async function whole(client: InfluxClient, text: string, options: QueryOptions = { database: DATABASE }): Promise<Series[]> {
  const received: Series[] = [];
  await client.querySeries(text, (series) => received.push(series), options);
  return received;
}

async function pieces(client: InfluxClient, text: string, options: QueryOptions = { database: DATABASE }): Promise<ChunkedSeries[]> {
  const received: ChunkedSeries[] = [];
  await client.queryPieces(text, (piece) => received.push(piece), options);
  return received;
}

/** A server answering every request with `body` (HTTP 200), for answers InfluxDB itself would not send. */
async function answering(body: (response: http.ServerResponse) => void, use: (client: InfluxClient) => Promise<void>): Promise<void> {
  const server = http.createServer((request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    body(response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    await use(new InfluxClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`));
  } finally {
    server.close();
  }
}

const CUT_SHORT = (response: http.ServerResponse): void => {
  // One whole piece, then half of the next.
  response.write('{"results":[{"statement_id":0,"series":[{"name":"load","tags":{"host":"a"},"columns":["time","value"],"values":[[1,1]]}]}]}\n');
  response.end('{"results":[{"statement_id":0,"series":[{"name":"lo');
};

describe.each([
  ['querySeries', whole],
  ['queryPieces', pieces],
])('%s', (_, read) => {
  test('the same series as query() gives, in the same order', async () => {
    const text = 'SELECT sum(value), count(value) FROM load GROUP BY time(20m), host, rack fill(none)';
    const [expected] = await influx.client.query(text, { database: DATABASE });
    const received = await read(influx.client, text);
    expect(received).toHaveLength(300);
    expect(received).toEqual(expected);
  });

  test('an empty answer calls nothing', async () => {
    expect(await read(influx.client, `SELECT value FROM load WHERE time < ${START - 1000}ms`)).toEqual([]);
  });

  test("InfluxDB's refusals throw its own message", async () => {
    await expect(read(influx.client, 'SELECT FROM')).rejects.toMatchObject({ name: 'InfluxError', status: 400, message: expect.stringMatching(/HTTP 400: error parsing query/) });
    await expect(read(influx.client, 'SELECT value FROM load', { database: 'no_such_database' })).rejects.toMatchObject({ status: 400, message: expect.stringContaining('database not found: no_such_database') });
  });

  test('InfluxDB down: an InfluxError that says it could not be reached', async () => {
    const down = new InfluxClient(`http://127.0.0.1:${await freePort()}`);
    const error = await read(down, 'SELECT value FROM load').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(InfluxError);
    expect(error).toMatchObject({ status: 0, unreachable: true, message: expect.stringContaining('ECONNREFUSED') });
  });

  test('an answer cut short is an error, not a shorter answer', async () => {
    await answering(CUT_SHORT, async (client) => {
      await expect(read(client, 'SELECT value FROM load')).rejects.toThrow(/not JSON \(cut short\?\)/);
    });
  });

  test('queries sharing one signal leave no listener on it once answered', async () => {
    // got keeps its abort listener on a finished request: twelve history queries on one signal used to print
    // a MaxListenersExceededWarning into the job's log, and each kept its request reachable.
    const controller = new AbortController();
    const send = (text: string): Promise<Series[]> => read(influx.client, text, { database: DATABASE, signal: controller.signal });
    for (let query = 0; query < 12; query++) await send('SELECT value FROM load GROUP BY host');
    await expect(send('SELECT FROM')).rejects.toBeInstanceOf(InfluxError);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  test('an aborted query stops with an error', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(read(influx.client, 'SELECT value FROM long GROUP BY host', { database: DATABASE, signal: controller.signal })).rejects.toBeInstanceOf(InfluxError);
  });
});

describe('querySeries takes the answer whole', () => {
  test('a long series comes in one call', async () => {
    const received = await whole(influx.client, 'SELECT value FROM long GROUP BY host');
    expect(received).toHaveLength(1);
    expect(received[0].tags).toEqual({ host: 'big' });
    expect(received[0].values).toHaveLength(25_000);
    expect(received[0].values[24_999]).toEqual([START + 24_999_000, 24_999]);
  });
});

describe('queryPieces streams the answer piece by piece', () => {
  test('a long series comes in pieces of 2,000 points, all but the last partial, in order', async () => {
    const received = await pieces(influx.client, 'SELECT value FROM long GROUP BY host');
    expect(received.map((piece) => piece.values.length)).toEqual([...Array<number>(12).fill(2000), 1000]);
    expect(received.map((piece) => piece.partial ?? false)).toEqual([...Array<boolean>(12).fill(true), false]);
    expect(received.flatMap((piece) => piece.values)).toEqual(Array.from({ length: 25_000 }, (_, slot) => [START + slot * 1000, slot]));
  });

  test('the pieces before a cut are handed on, then the cut is an error', async () => {
    await answering(CUT_SHORT, async (client) => {
      const received: ChunkedSeries[] = [];
      await expect(client.queryPieces('SELECT value FROM load', (piece) => received.push(piece))).rejects.toThrow(/not JSON \(cut short\?\)/);
      expect(received).toHaveLength(1);
    });
  });

  test('an answer that ends cleanly inside a series (its last piece partial) is an error, not a shorter series', async () => {
    const partialEnd = (response: http.ServerResponse): void => {
      response.end('{"results":[{"statement_id":0,"series":[{"name":"load","tags":{"host":"a"},"columns":["time","value"],"values":[[1,1]],"partial":true}]}]}\n');
    };
    await answering(partialEnd, async (client) => {
      await expect(pieces(client, 'SELECT value FROM load')).rejects.toThrow(/cut short inside series load \{"host":"a"\}/);
    });
  });
});
