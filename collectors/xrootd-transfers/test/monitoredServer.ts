/**
 * A real xrootd whose detailed monitoring goes through a UDP relay into the shared receiver, as in
 * xrootd-transfers.test.ts: the relay lets a test drop, repeat or add packets as a network (or a
 * newer server) would.
 */
import { execFile } from 'node:child_process';
import dgram from 'node:dgram';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { startReceiver, type RunningReceiver } from '../../../lib/queue/receiver';
import { collectedDocuments } from '../../../lib/run/collector';
import type { MonitDocument } from '../../../lib/documents/types';
import { collectorContext, type TestContext } from '../../../test/support/collectorContext';
import collector from '../collector';
import { MemoryLogger } from '../../../lib/run/log';
import { startServer, type RunningServer } from '../../../test/support/services';
import { DETAILED_STREAM } from '../receiver';

const run = promisify(execFile);
export const CLIENT_ENV = { ...process.env, XRD_CONNECTIONRETRY: '1', XRD_REQUESTTIMEOUT: '5' };
/** xrdcp without pgwrite, so the server counts exactly the file's bytes. */
export const PLAIN_WRITES = { ...CLIENT_ENV, XRD_CPUSEPGWRTRD: '0' };

export async function xrdcp(source: string, destination: string, env: NodeJS.ProcessEnv = PLAIN_WRITES): Promise<void> {
  await run('timeout', ['30', 'xrdcp', '-f', '-s', source, destination], { env });
}

export interface MonitoredServer {
  xrootd: RunningServer;
  receiver: RunningReceiver;
  /** What the relay does with each packet of the server: the datagrams it sends on (default: the packet). */
  route: (packet: Buffer) => Buffer[];
  /** Every packet the server sent, in order. */
  fromServer: Buffer[];
  /** Every datagram the relay sent on, in order. */
  sent: Buffer[];
  /** Sends a datagram to the receiver from the relay's address (the server's, as the receiver sees it). */
  send(datagram: Buffer): Promise<void>;
  /** Resolves once the relay sent on everything the server sent so far. */
  drained(): Promise<void>;
  url(name: string): string;
  stop(): Promise<void>;
}

/** The detailed-stream receiver on a free loopback port, queueing into `queueDir` with the test's clock. */
export function startTestReceiver(queueDir: string, now: () => number): Promise<RunningReceiver> {
  return startReceiver({
    ...DETAILED_STREAM,
    host: '127.0.0.1',
    port: 0,
    queueDir,
    segmentMs: 10_000,
    flushIntervalMs: 20,
    socketBufferBytes: 4 << 20,
    maxQueueBytes: 1 << 30,
    log: new MemoryLogger(),
    now,
  });
}

export async function startMonitoredServer(dir: string, options: { site: string; now: () => number; route?: (packet: Buffer) => Buffer[] }): Promise<MonitoredServer> {
  const receiver = await startTestReceiver(path.join(dir, 'queue'), options.now);
  const relay = dgram.createSocket('udp4');
  const send = (datagram: Buffer): Promise<void> =>
    new Promise((resolve, reject) => relay.send(datagram, receiver.port, '127.0.0.1', (error) => (error ? reject(error) : resolve())));
  // One at a time, in order: a route may send several datagrams for one packet.
  let chain = Promise.resolve();
  const monitored: MonitoredServer = {
    xrootd: undefined as unknown as RunningServer,
    receiver,
    route: options.route ?? ((packet) => [packet]),
    fromServer: [],
    sent: [],
    send: async (datagram) => {
      monitored.sent.push(datagram);
      await send(datagram);
    },
    drained: () => chain,
    url: (name) => `root://127.0.0.1:${monitored.xrootd.port}//${name}`,
    stop: async () => {
      await monitored.xrootd?.stop();
      await receiver.stop();
      relay.close();
    },
  };
  relay.on('message', (message) => {
    monitored.fromServer.push(message);
    const out = monitored.route(message);
    chain = chain.then(async () => {
      for (const datagram of out) await monitored.send(datagram);
    });
  });
  await new Promise<void>((resolve) => relay.bind(0, '127.0.0.1', resolve));
  const extra = path.join(dir, 'monitor.cfg');
  writeFileSync(
    extra,
    `all.sitename ${options.site}\nxrootd.monitor all auth flush 1s window 1s fstat 1s lfn ops xfr 1 ident 1h dest fstat files info user io redir 127.0.0.1:${relay.address().port}\n`,
  );
  monitored.xrootd = await startServer('xrootd', { configExtra: extra });
  return monitored;
}

/** Waits until `check` holds and the receiver queued everything the relay sent. */
export async function settle(server: MonitoredServer, what: string, check: () => boolean): Promise<void> {
  for (let attempt = 0; attempt < 300; attempt += 1) {
    await server.drained();
    await server.receiver.flushed();
    if (check() && server.receiver.counters.queued >= server.sent.length) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** One committed run of the collector for `slotMs`, with the given config and state folder. */
export async function collectFor(configText: string, stateDir: string, slotMs: number): Promise<{ documents: MonitDocument[]; context: TestContext }> {
  const context = collectorContext('xrootd-transfers', configText, { slotMs, stateDir });
  const result = await collector.collect(context);
  if (Array.isArray(result)) throw new Error('expected { documents, commit }');
  await result.commit?.();
  return { documents: collectedDocuments(result), context };
}
