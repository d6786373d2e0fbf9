import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../../lib/config/paths';
import { testDir } from '../../test/support/services';

/** scripts/servers/services.sh start: what a parallel test run or a user sees when a port is not free. */
const run = promisify(execFile);
const SERVICES = path.join(PROJECT_ROOT, 'scripts', 'servers', 'services.sh');

/** A listener that holds PORT and hangs up on whoever connects. */
function listen(port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer((connection) => connection.destroy());
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

function close(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** Two neighbouring ports that were both free a moment ago. */
async function freePortPair(): Promise<number> {
  for (;;) {
    const first = await listen(0);
    const port = (first.address() as net.AddressInfo).port;
    const second = await listen(port + 1).catch(() => undefined);
    await close(first);
    if (second) {
      await close(second);
      return port;
    }
  }
}

const started: string[] = [];
afterAll(async () => {
  for (const dir of started) await run(SERVICES, ['stop', dir]);
});

async function startInfluxDB(port: number): Promise<string> {
  const dir = testDir('influxdb');
  started.push(dir);
  await run(SERVICES, ['start', 'influxdb', '--port', String(port), '--dir', dir]);
  return dir;
}

/** An IPv4 address as /proc/net/tcp writes it: four bytes in hex, least significant first. */
const ipv4 = (hex: string): string => (hex.match(/../g) as string[]).reverse().map((byte) => parseInt(byte, 16)).join('.');

/**
 * The TCP sockets process `pid` listens on (a listening socket's inode among its descriptors), as
 * "127.0.0.1:8086", "[::ffff:127.0.0.1]:8086" for an IPv4-mapped IPv6 address, else "[hex]:8086" (the
 * kernel's notation).
 */
function listeningSockets(pid: number): string[] {
  const descriptors = readdirSync(`/proc/${pid}/fd`).map((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      return ''; // closed meanwhile
    }
  });
  return ['/proc/net/tcp', '/proc/net/tcp6'].flatMap((table) =>
    readFileSync(table, 'utf8')
      .split('\n')
      .slice(1)
      .map((line) => line.trim().split(/\s+/))
      .filter((fields) => fields[3] === '0A' && descriptors.includes(`socket:[${fields[9]}]`)) // 0A: LISTEN
      .map((fields) => {
        const [address, port] = fields[1].split(':');
        const mapped = address.startsWith('0000000000000000FFFF0000');
        const host = address.length === 8 ? ipv4(address) : mapped ? `[::ffff:${ipv4(address.slice(24))}]` : `[${address}]`;
        return `${host}:${parseInt(port, 16)}`;
      }),
  );
}

/** Whether process `pid` listens on TCP port `port` (IPv4). */
function listensOn(pid: number, port: number): boolean {
  return listeningSockets(pid).some((socket) => /^\d/.test(socket) && socket.endsWith(`:${port}`));
}

it('an InfluxDB starts on the port right after another one (its backup service takes no fixed port)', async () => {
  for (let attempt = 1; ; attempt++) {
    const port = await freePortPair();
    let first: string | undefined;
    try {
      first = await startInfluxDB(port);
      await startInfluxDB(port + 1);
    } catch (error) {
      // In a parallel run another test's server can take one of the two ports after they were found free;
      // the first InfluxDB itself must never hold the second.
      if (first) expect(listensOn(Number(readFileSync(path.join(first, 'server.pid'), 'utf8').trim()), port + 1)).toBe(false);
      if (attempt < 3 && /address already in use/.test((error as Error & { stderr?: string }).stderr ?? String(error))) continue;
      throw error;
    }
    for (const answering of [port, port + 1]) {
      const response = await fetch(`http://127.0.0.1:${answering}/ping`);
      expect(response.status).toBe(204);
    }
    // The check a lost race relies on sees the first InfluxDB's own port.
    expect(listensOn(Number(readFileSync(path.join(first, 'server.pid'), 'utf8').trim()), port)).toBe(true);
    return;
  }
});

it('a server whose port is taken fails at once with its own reason, and leaves no pid file behind', async () => {
  const holder = await listen(0);
  const port = (holder.address() as net.AddressInfo).port;
  try {
    const dir = testDir('influxdb');
    started.push(dir);
    const failure = await run(SERVICES, ['start', 'influxdb', '--port', String(port), '--dir', dir], { env: { ...process.env, SERVICES_START_TIMEOUT: '600' } }).then(
      () => undefined,
      (error: Error & { stderr?: string }) => error.stderr,
    );
    expect(failure).toMatch(new RegExp(`influxd on port ${port} exited at start: .*address already in use`));
    expect(existsSync(path.join(dir, 'server.pid'))).toBe(false);
  } finally {
    await close(holder);
  }
});

it('a pid file whose pid now names another process (pids are reused) is not that server: stop leaves the process alone', async () => {
  const dir = testDir('influxdb');
  const other = spawn('sleep', ['60'], { stdio: 'ignore' });
  try {
    // The server that wrote these files is gone; its pid now belongs to `sleep`, started at another time.
    writeFileSync(path.join(dir, 'server.pid'), `${other.pid}\n`);
    writeFileSync(path.join(dir, 'server.started'), '1\n');
    const status = await run(SERVICES, ['status', dir]).then(
      () => 'running',
      (error: Error & { stdout?: string }) => error.stdout?.trim(),
    );
    expect(status).toBe('stopped');
    await run(SERVICES, ['stop', dir]);
    expect(other.exitCode).toBeNull();
    expect(other.signalCode).toBeNull();
    expect(() => process.kill(other.pid as number, 0)).not.toThrow();
    expect(existsSync(path.join(dir, 'server.pid'))).toBe(false);
  } finally {
    other.kill();
  }
});

it('the XRootD server listens on 127.0.0.1 only (on an IPv4-mapped IPv6 socket), like every other demo and test server', async () => {
  for (let attempt = 1; ; attempt++) {
    const holder = await listen(0);
    const port = (holder.address() as net.AddressInfo).port;
    await close(holder);
    const dir = testDir('xrootd');
    started.push(dir);
    try {
      await run(SERVICES, ['start', 'xrootd', '--port', String(port), '--dir', dir]);
    } catch (error) {
      // In a parallel run another test's server can take the port after it was found free.
      if (attempt < 3 && /address already in use/i.test((error as Error & { stderr?: string }).stderr ?? String(error))) continue;
      throw error;
    }
    expect(listeningSockets(Number(readFileSync(path.join(dir, 'server.pid'), 'utf8').trim()))).toEqual([`[::ffff:127.0.0.1]:${port}`]);
    return;
  }
});

it('PostgreSQL runs as the user postgres (when started as root), on 127.0.0.1 only, with its socket inside DIR, and stops', async () => {
  for (let attempt = 1; ; attempt++) {
    const holder = await listen(0);
    const port = (holder.address() as net.AddressInfo).port;
    await close(holder);
    const dir = testDir('postgresql');
    started.push(dir);
    try {
      await run(SERVICES, ['start', 'postgresql', '--port', String(port), '--dir', dir]);
    } catch (error) {
      // In a parallel run another test's server can take the port after it was found free.
      if (attempt < 3 && /address already in use/i.test((error as Error & { stderr?: string }).stderr ?? String(error))) continue;
      throw error;
    }
    const pid = Number(readFileSync(path.join(dir, 'server.pid'), 'utf8').trim());
    // The pid kept is the server's own (setpriv execs), so stop signals postgres itself.
    expect(readFileSync(`/proc/${pid}/comm`, 'utf8').trim()).toBe('postgres');
    const owner = Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
    if (process.getuid?.() === 0) expect(owner).toBe(Number((await run('id', ['-u', 'postgres'])).stdout.trim()));
    else expect(owner).toBe(process.getuid?.());
    expect(listeningSockets(pid)).toEqual([`127.0.0.1:${port}`]);
    expect(existsSync(path.join(dir, `.s.PGSQL.${port}`))).toBe(true);
    await run(SERVICES, ['stop', dir]);
    expect(() => process.kill(pid, 0)).toThrow();
    const status = await run(SERVICES, ['status', dir]).then(
      () => 'running',
      (error: Error & { stdout?: string }) => error.stdout?.trim(),
    );
    expect(status).toBe('stopped');
    return;
  }
});

it('nats-server listens on 127.0.0.1 only (client, cluster and monitoring ports); right after kill -9 it is stopped, and start starts it again', async () => {
  for (let attempt = 1; ; attempt++) {
    const ports: number[] = [];
    for (let index = 0; index < 3; index++) {
      const holder = await listen(0);
      ports.push((holder.address() as net.AddressInfo).port);
      await close(holder);
    }
    const [port, monitorPort, clusterPort] = ports;
    const dir = testDir('nats');
    started.push(dir);
    // A key of --config-extra overrides the default (1 MB).
    const extra = path.join(dir, 'extra.conf');
    writeFileSync(extra, 'max_payload: 65536\n');
    const args = ['start', 'nats', '--port', String(port), '--monitor-port', String(monitorPort), '--dir', dir, '--config-extra', extra];
    args.push('--cluster-port', String(clusterPort), '--routes', `nats-route://127.0.0.1:${clusterPort}`, '--name', 'alone');
    try {
      await run(SERVICES, args);
    } catch (error) {
      // In a parallel run another test's server can take a port after it was found free.
      if (attempt < 3 && /address already in use/i.test((error as Error & { stderr?: string }).stderr ?? String(error))) continue;
      throw error;
    }
    const pid = Number(readFileSync(path.join(dir, 'server.pid'), 'utf8').trim());
    expect(readFileSync(`/proc/${pid}/comm`, 'utf8').trim()).toBe('nats-server');
    expect(listeningSockets(pid).sort()).toEqual(ports.map((listening) => `127.0.0.1:${listening}`).sort());
    expect(JSON.parse(readFileSync(path.join(dir, 'nats.ports'), 'utf8'))).toMatchObject({ monitoring: [`http://127.0.0.1:${monitorPort}`] });
    const varz = (await (await fetch(`http://127.0.0.1:${monitorPort}/varz`)).json()) as { server_name: string; max_payload: number; cluster: { name: string } };
    expect(varz).toMatchObject({ server_name: `nats-${port}`, max_payload: 65536, cluster: { name: 'alone' } });
    const status = (): Promise<string | undefined> =>
      run(SERVICES, ['status', dir]).then(
        ({ stdout }) => stdout.trim(),
        (error: Error & { stdout?: string }) => error.stdout?.trim(),
      );

    // Its parent (services.sh) is gone, so init reaps it, maybe a while later: until then it is a zombie.
    process.kill(pid, 'SIGKILL');
    expect(await status()).toBe('stopped');
    await run(SERVICES, args);
    const restarted = Number(readFileSync(path.join(dir, 'server.pid'), 'utf8').trim());
    expect(restarted).not.toBe(pid);
    expect(await status()).toBe(`running (pid ${restarted})`);
    expect(listeningSockets(restarted).sort()).toEqual(ports.map((listening) => `127.0.0.1:${listening}`).sort());

    await run(SERVICES, ['stop', dir]);
    expect(await status()).toBe('stopped');
    return;
  }
});

it('the options of nats only are refused for another component, before anything starts', async () => {
  const dir = testDir('influxdb');
  const failure = await run(SERVICES, ['start', 'influxdb', '--port', '1', '--dir', dir, '--cluster-port', '2']).then(
    () => undefined,
    (error: Error & { stderr?: string }) => error.stderr,
  );
  expect(failure).toMatch(/--cluster-port is an option of nats only/);
  expect(existsSync(path.join(dir, 'server.pid'))).toBe(false);
});
