/** writeIsolatingRefused against a real InfluxDB 1.6: refused lines found by index, the rest stored, few requests. */
import { startInfluxDB, type TestInfluxDB } from '../../test/support/services';
import { InfluxError } from './influxdb';
import { writeIsolatingRefused } from './refusedLines';

let influx: TestInfluxDB;
const DATABASE = 'refused_lines';

beforeAll(async () => {
  influx = await startInfluxDB();
  await influx.client.query(`CREATE DATABASE ${DATABASE}`);
  // From now on v is a float: an integer v is a field type conflict.
  await influx.client.write(DATABASE, 'm,k=-1 v=0.5 1');
});

afterAll(async () => {
  await influx?.stop();
});

const line = (index: number, poisoned: boolean): string => `m,k=${index} v=${poisoned ? `${index}i` : `${index}.5`} ${1000 + index}`;

test('one poison among 1,000 lines: found by its index with InfluxDB\'s reason in 21 requests (1 + 2 per halving, 10 halvings), the other 999 stored', async () => {
  const lines = Array.from({ length: 1000 }, (_, index) => line(index, index === 0));
  let requests = 0;
  const refused = await writeIsolatingRefused(lines.length, (from, to) => lines.slice(from, to).join('\n'), async (body) => {
    requests++;
    await influx.client.write(DATABASE, body);
  });
  expect(refused).toHaveLength(1);
  expect(refused[0].index).toBe(0);
  expect(refused[0].reason).toMatch(/field type conflict/);
  // 1000 → 500 → 250 → 125 → 63 → 32 → 16 → 8 → 4 → 2 → 1: each halving writes both halves.
  expect(requests).toBe(21);
  const [{ points }] = await influx.client.rows('SELECT count("v") AS "points" FROM "m" WHERE time >= 1000ms', { database: DATABASE });
  expect(points).toBe(999);
});

test('poisons at both ends and in the middle of an odd batch: each by index; nothing refused costs one request', async () => {
  const poisoned = new Set([0, 36, 72]);
  const lines = Array.from({ length: 73 }, (_, index) => line(2000 + index, poisoned.has(index)));
  const refused = await writeIsolatingRefused(lines.length, (from, to) => lines.slice(from, to).join('\n'), (body) => influx.client.write(DATABASE, body));
  expect(refused.map((one) => one.index)).toEqual([0, 36, 72]);

  let requests = 0;
  const clean = Array.from({ length: 50 }, (_, index) => line(3000 + index, false));
  const none = await writeIsolatingRefused(clean.length, (from, to) => clean.slice(from, to).join('\n'), async (body) => {
    requests++;
    await influx.client.write(DATABASE, body);
  });
  expect([none, requests]).toEqual([[], 1]);
});

test('InfluxDB unable to store (not a refusal of the content): thrown, nothing counted as refused', async () => {
  const unavailable = new InfluxError('InfluxDB answered 503', 503, 'busy');
  let requests = 0;
  const attempt = writeIsolatingRefused(10, () => 'm v=1.5 1', async () => {
    requests++;
    throw unavailable;
  });
  await expect(attempt).rejects.toBe(unavailable);
  expect(requests).toBe(1);
});
