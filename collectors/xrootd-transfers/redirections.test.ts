import { Resolver } from 'node:dns/promises';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { RunningReceiver } from '../../lib/queue/receiver';
import { startTestReceiver } from './test/monitoredServer';
import { readQueue } from '../../lib/queue/segments';
import { collectedDocuments } from '../../lib/run/collector';
import type { MonitDocument } from '../../lib/documents/types';
import { collectorContext } from '../../test/support/collectorContext';
import { freePort } from '../../test/support/ports';
import { readmeDisagreements } from '../../test/support/readme';
import { startServer, testDir, type RunningServer } from '../../test/support/services';
import { eventually, randomFile, xrdcp } from '../../test/support/xrootdServer';
import collector from './collector';
import { parsePacket } from './protocol';
import { startTestDns, type TestDns } from './test/dnsServer';

// A redirector (xrootd + cmsd, all.role manager) and two data servers (all.role server) in two sites,
// all on loopback, all monitoring to the test receiver; the client reads files through the redirector.
const run = promisify(execFile);
const MINUTE = 60_000;
const SLOT = Date.UTC(2026, 10, 22, 10, 0);
const REDIRECTOR_SITE = 'REDIRECTOR-SITE';
const CLIENT_SITE = 'SITE-A';
/** Which data server (by its site) holds which file. */
const FILES: Record<string, string> = { '/alpha-1.bin': 'SITE-A', '/alpha-2.bin': 'SITE-A', '/alpha-3.bin': 'SITE-A', '/beta-1.bin': 'SITE-B', '/beta-2.bin': 'SITE-B' };

const CLOCK_MS = SLOT + MINUTE;
let receiver: RunningReceiver;
let redirector: RunningServer;
const dataServers: Record<string, RunningServer> = {};
let dns: TestDns;
let work: string;
let queueDir: string;
let clientName: string;
let managerPort: number;

function monitorConfig(name: string, site: string): string {
  const file = path.join(work, `${name}.cfg`);
  writeFileSync(file, `all.sitename ${site}\nxrootd.monitor all auth flush 1s window 1s fstat 1s lfn ops xfr 1 ident 1h dest fstat files info user io redir 127.0.0.1:${receiver.port}\n`);
  return file;
}

/** The redirect records and path maps in the queue. */
function queued(): { redirects: string[]; pathMaps: string[] } {
  const redirects: string[] = [];
  const pathMaps: string[] = [];
  for (const packet of readQueue(queueDir, undefined).packets) {
    const decoded = parsePacket(packet.packet);
    if (decoded.kind === 'redirects') redirects.push(...decoded.redirects.map((redirect) => redirect.path));
    if (decoded.kind === 'path') pathMaps.push(decoded.path);
  }
  return { redirects, pathMaps };
}

/** The scope of each read as the topology says, computed from which site holds each file. */
function expectedScopes(clouds: Record<string, string>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const site of Object.values(FILES)) {
    const scope = site === CLIENT_SITE ? 'local' : !clouds[site] || !clouds[CLIENT_SITE] ? 'unknown' : clouds[site] === clouds[CLIENT_SITE] ? 'same_cloud' : 'other_cloud';
    counts[scope] = (counts[scope] ?? 0) + 1;
  }
  return counts;
}

async function redirectionsWith(clouds: Record<string, string>): Promise<MonitDocument[]> {
  const topology = Object.entries(clouds).map(([site, cloud]) => `${site} = cloud=${cloud}, country=Nowhere`).join('\n');
  const config = `[xrootd-transfers]\nqueue_dir = ${queueDir}\ndns_servers = ${dns.server}\ndns_timeout = 500ms\ndns_budget = 5s\n\n[xrootd-transfers.sites]\n${clientName} = ${CLIENT_SITE}\n\n[xrootd-transfers.topology]\n${topology}\n`;
  // Not committed: every call reads the same packets.
  const context = collectorContext('xrootd-transfers', config, { slotMs: SLOT + 10 * MINUTE, stateDir: testDir('redirections-state') });
  const documents = collectedDocuments(await collector.collect(context));
  expect(context.problems).toEqual([]);
  return documents.filter((document) => document.type === 'redirections');
}

beforeAll(async () => {
  work = testDir('redirections');
  queueDir = path.join(work, 'queue');
  receiver = await startTestReceiver(queueDir, () => CLOCK_MS);
  managerPort = await freePort();
  redirector = await startServer('xrootd', { configExtra: monitorConfig('redirector', REDIRECTOR_SITE), cluster: { role: 'manager', managerPort } });
  for (const site of ['SITE-A', 'SITE-B']) {
    dataServers[site] = await startServer('xrootd', { configExtra: monitorConfig(site, site), cluster: { role: 'server', managerPort } });
  }
  // The manager redirects only to data servers that logged in to its cmsd.
  const managerLog = path.join(redirector.dir, 'log', `mon${redirector.port}`, 'cmsd.log');
  await eventually(async () => ((readFileSync(managerLog, 'utf8').match(/server\.\S+ logged in/g) ?? []).length >= 2 ? true : undefined));
  dns = await startTestDns({});
  const resolver = new Resolver({ timeout: 500, tries: 1 });
  resolver.setServers([dns.server]);
  clientName = (await resolver.reverse('127.0.0.1'))[0];
}, 180_000);

afterAll(async () => {
  await redirector?.stop();
  for (const server of Object.values(dataServers)) await server.stop();
  await receiver?.stop();
  await dns?.close();
});

test('reads through a redirector are counted by scope as the topology says', async () => {
  for (const [file, site] of Object.entries(FILES)) {
    await xrdcp(randomFile(work, path.basename(file), 20_000), `root://127.0.0.1:${dataServers[site].port}/${file}`);
  }
  for (const file of Object.keys(FILES)) {
    const copy = path.join(work, `${path.basename(file)}.back`);
    await xrdcp(`root://127.0.0.1:${redirector.port}/${file}`, copy);
    expect(readFileSync(copy)).toEqual(readFileSync(path.join(work, path.basename(file))));
  }
  // Each file: one redirect record, and the path maps of its upload and of the redirected read.
  await eventually(async () => {
    await receiver.flushed();
    const { redirects, pathMaps } = queued();
    const complete = redirects.length === 5 && Object.keys(FILES).every((file) => pathMaps.filter((mapped) => mapped === file).length === 2);
    return complete ? true : undefined;
  });
  expect(queued().redirects.sort()).toEqual(Object.keys(FILES).sort());

  const scopes = async (clouds: Record<string, string>): Promise<Record<string, number>> => {
    const documents = await redirectionsWith(clouds);
    for (const document of documents) {
      expect(document).toMatchObject({ timestamp: SLOT, server: expect.stringMatching(new RegExp(`:${redirector.port}$`)), server_site: REDIRECTOR_SITE });
      expect(document.open_redirects).toBe(document.redirects);
    }
    return Object.fromEntries(documents.map((document) => [document.scope as string, document.redirects as number]));
  };
  const sameCloud = { 'SITE-A': 'EU', 'SITE-B': 'EU' };
  const otherCloud = { 'SITE-A': 'EU', 'SITE-B': 'US' };
  const siteBUnplaced = { 'SITE-A': 'EU' };
  expect(await scopes(sameCloud)).toEqual(expectedScopes(sameCloud));
  expect(await scopes(otherCloud)).toEqual(expectedScopes(otherCloud));
  expect(await scopes(siteBUnplaced)).toEqual(expectedScopes(siteBUnplaced));
  expect(expectedScopes(otherCloud)).toEqual({ local: 3, other_cloud: 2 });
});

test("the redirector's cmsd listens on loopback only; stopping a clustered xrootd stops its cmsd too", async () => {
  const listening = async (pid: number): Promise<string[]> =>
    (await run('ss', ['-ltnpH'])).stdout.split('\n').filter((line) => line.includes(`pid=${pid},`)).map((line) => line.trim().split(/\s+/)[3]);
  const managerCmsd = Number(readFileSync(path.join(redirector.dir, 'cmsd.pid'), 'utf8'));
  expect(await listening(managerCmsd)).toEqual([`[::ffff:127.0.0.1]:${managerPort}`]);
  const server = dataServers['SITE-B'];
  const cmsd = Number(readFileSync(path.join(server.dir, 'cmsd.pid'), 'utf8'));
  expect(() => process.kill(cmsd, 0)).not.toThrow();
  await server.stop();
  expect(() => process.kill(cmsd, 0)).toThrow();
  expect(existsSync(path.join(server.dir, 'cmsd.pid'))).toBe(false);
});

test('README lists every tag and field of the redirections schema', () => {
  expect(readmeDisagreements(path.join(__dirname, 'README.md'), [{ producer: 'xrootd-transfers', type: 'redirections' }])).toEqual([]);
});
