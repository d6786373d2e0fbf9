/**
 * One loopback port that speaks both https and plain http, told apart by the first byte of a connection
 * (22: a TLS handshake record). So a redirect from https://127.0.0.1:P/ to http://127.0.0.1:P/ changes the
 * scheme only, the case where a client that compares host and port alone keeps its credentials.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import type { CertificateFiles } from './testCa';

const TLS_HANDSHAKE_RECORD = 22;

export interface DualRequest {
  scheme: 'https' | 'http';
  host: string;
  path: string;
  authorization?: string;
}

export interface DualServer {
  port: number;
  /** Every request, in order, with the scheme it came over and the Authorization header it carried. */
  received: DualRequest[];
  close(): Promise<void>;
}

/**
 * Serves `identity` (a certificate of the test CA) on https and plain http on one port of 127.0.0.1.
 * A path of `redirects` answers 302 to the URL it gives (of this port); a path of `negotiate` answers 401
 * with WWW-Authenticate: Negotiate (a Kerberos challenge); any other path answers {"ok":true}.
 */
export async function serveHttpsAndHttp(identity: CertificateFiles, redirects: Record<string, (port: number) => string>, negotiate: readonly string[] = []): Promise<DualServer> {
  const received: DualRequest[] = [];
  let port = 0;
  const handler = (scheme: DualRequest['scheme']) => (request: IncomingMessage, response: ServerResponse) => {
    const path = request.url ?? '/';
    received.push({ scheme, host: request.headers.host ?? '', path, authorization: request.headers.authorization });
    const target = redirects[path];
    if (target) {
      response.writeHead(302, { location: target(port) });
      response.end();
      return;
    }
    if (negotiate.includes(path)) {
      response.writeHead(401, { 'www-authenticate': 'Negotiate' });
      response.end();
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end('{"ok":true}');
  };
  const secure = https.createServer({ cert: readFileSync(identity.cert), key: readFileSync(identity.key) }, handler('https'));
  secure.on('tlsClientError', () => undefined);
  const plain = http.createServer(handler('http'));
  const sockets = new Set<net.Socket>();
  const front = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.once('data', (first: Buffer) => {
      socket.pause();
      socket.unshift(first);
      (first[0] === TLS_HANDSHAKE_RECORD ? secure : plain).emit('connection', socket);
      process.nextTick(() => socket.resume());
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  port = (front.address() as AddressInfo).port;
  return {
    port,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        front.close(() => resolve());
      }),
  };
}
