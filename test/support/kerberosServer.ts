/**
 * A loopback HTTP server that checks SPNEGO tokens with the same Kerberos library as the clients
 * (kerberos.initializeServer, its service keytab in KRB5_KTNAME), as a Hadoop web UI does: 401 with
 * `WWW-Authenticate: Negotiate` without a token or with one it refuses, else the authenticated user.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Socket } from 'node:net';
import { initializeServer } from 'kerberos';
import { withKerberosEnvironment } from '../../lib/tls/kerberos';

export interface NegotiateRequest {
  path: string;
  /** The Authorization header as received (undefined: none). */
  authorization?: string;
  /** The principal the token authenticated. */
  user?: string;
  /** Why the token was refused. */
  refused?: string;
}

export interface NegotiateServer {
  /** http://<host>:<port> (host: localhost unless told). */
  url: string;
  port: number;
  received: NegotiateRequest[];
  close(): Promise<void>;
}

export interface NegotiateServerOptions {
  /** The keytab of the service principal. */
  keytab: string;
  krb5Config: string;
  /** The acceptor's name, "HTTP@localhost" by default. */
  service?: string;
  /** The host name of `url`: the client derives HTTP@<host> from it. */
  host?: string;
  /** Paths that answer 302 (after authentication) to the URL given (of this server's port). */
  redirects?: Record<string, (port: number) => string>;
}

/** The user a token authenticates, or throws the library's refusal. Tokens of one server are checked one at a time. */
async function accept(options: NegotiateServerOptions, token: string): Promise<{ user: string; response: string }> {
  const { keytab, krb5Config, service = 'HTTP@localhost' } = options;
  return withKerberosEnvironment({ KRB5_KTNAME: `FILE:${keytab}`, KRB5_CONFIG: krb5Config }, async () => {
    const server = await initializeServer(service);
    const response = await server.step(token);
    return { user: server.username, response };
  });
}

export async function serveNegotiate(options: NegotiateServerOptions): Promise<NegotiateServer> {
  const received: NegotiateRequest[] = [];
  let port = 0;
  const challenge = (response: ServerResponse, body: string): void => {
    response.writeHead(401, { 'www-authenticate': 'Negotiate', 'content-type': 'text/plain' });
    response.end(body);
  };
  const handler = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const path = request.url ?? '/';
    const seen: NegotiateRequest = { path, authorization: request.headers.authorization };
    received.push(seen);
    const token = /^Negotiate (\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
    if (!token) return challenge(response, 'authentication required');
    let accepted: { user: string; response: string };
    try {
      accepted = await accept(options, token);
    } catch (error) {
      seen.refused = (error as Error).message;
      return challenge(response, 'token refused');
    }
    seen.user = accepted.user;
    const redirect = options.redirects?.[path];
    if (redirect) {
      response.writeHead(302, { location: redirect(port) });
      response.end();
      return;
    }
    // The last leg of SPNEGO (mutual authentication), as servers send it with the answer.
    response.writeHead(200, { 'content-type': 'application/json', 'www-authenticate': `Negotiate ${accepted.response}` });
    response.end(JSON.stringify({ user: accepted.user, path }));
  };
  const server = http.createServer((request, response) => {
    handler(request, response).catch((error: unknown) => {
      response.writeHead(500);
      response.end(String(error));
    });
  });
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  return {
    url: `http://${options.host ?? 'localhost'}:${port}`,
    port,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
