import { readFileSync } from 'node:fs';
import path from 'node:path';
import { spawnGatewayProcess, TEST_TOKEN, type GatewayProcess } from '../test/support/gateway';
import { useInfluxDB } from '../test/support/fixtures';

const servers = useInfluxDB();
let gateway: GatewayProcess | undefined;
afterAll(async () => {
  await gateway?.stop();
});

it('under the crontab line (stderr appended to var/log/gateway.log, no terminal): each log line is written once', async () => {
  gateway = await spawnGatewayProcess(servers.influx.url, '', { stderrToLog: true });
  const marker = 'log-once-marker';
  const response = await fetch(`${gateway.url}/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_TOKEN}` },
    body: JSON.stringify([{ producer: marker, type: 'm', idb_tags: ['k'], k: 'a', nested: { not: 'a scalar' } }]),
  });
  expect(response.status).toBe(400);
  await gateway.stop();
  const lines = readFileSync(path.join(gateway.dir, 'log', 'gateway.log'), 'utf8').split('\n');
  const refused = lines.filter((line) => line.includes('refused 1 of 1 documents'));
  expect(refused).toHaveLength(1);
  expect(refused[0]).toMatch(/ WARN  \[gateway\] /);
  expect(lines.filter((line) => line.includes('INFO  [gateway] listening on '))).toHaveLength(1);
});
