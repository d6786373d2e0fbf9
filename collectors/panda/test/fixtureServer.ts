import http from 'node:http';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';

/** What the fixture server answers on one path. */
export interface FixtureResponse {
  status?: number;
  body: string;
  /** Waits this long before answering (a slow source). */
  delayMs?: number;
  /** Answers only once this settles (a source that waits for something else to happen first). */
  holdUntil?: Promise<unknown>;
  /** Announces a longer body than it sends, then closes the connection (an answer cut short). */
  cutShort?: boolean;
}

/**
 * A local HTTP server standing in for PanDA and CRIC: recorded JSON per path, changeable between requests,
 * counting the requests it got. Listens on 127.0.0.1 on a free port.
 */
export class FixtureServer {
  readonly routes = new Map<string, FixtureResponse>();
  readonly requests = new Map<string, number>();
  /** Query strings seen, per path. */
  readonly queries = new Map<string, string[]>();
  /** Subject of the client certificate of each request over TLS that presented one (the proxy's own, for a proxy). */
  readonly clientSubjects: string[] = [];
  /** The Authorization header of each request that sent one. */
  readonly authorizations: string[] = [];
  private readonly server: http.Server | https.Server;
  private readonly timers = new Set<NodeJS.Timeout>();

  private constructor(tls?: https.ServerOptions) {
    const handle = (request: http.IncomingMessage, response: http.ServerResponse): void => {
      const url = new URL(request.url ?? '/', 'http://fixture');
      const peer = tls ? (request.socket as TLSSocket).getPeerCertificate() : undefined;
      if (peer?.subject) this.clientSubjects.push(Object.entries(peer.subject).map(([key, value]) => `${key}=${String(value)}`).join(','));
      if (request.headers.authorization) this.authorizations.push(request.headers.authorization);
      this.requests.set(url.pathname, (this.requests.get(url.pathname) ?? 0) + 1);
      this.queries.set(url.pathname, [...(this.queries.get(url.pathname) ?? []), url.search]);
      const route = this.routes.get(url.pathname);
      if (!route) {
        response.writeHead(404, { 'content-type': 'text/plain' }).end('no such fixture');
        return;
      }
      const answer = (): void => {
        if (response.destroyed) return;
        if (route.cutShort) {
          response.writeHead(route.status ?? 200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(route.body) * 2) });
          response.write(route.body);
          response.destroy();
          return;
        }
        response.writeHead(route.status ?? 200, { 'content-type': 'application/json' }).end(route.body);
      };
      if (route.holdUntil) {
        void route.holdUntil.then(answer, answer);
      } else if (route.delayMs) {
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          answer();
        }, route.delayMs);
        this.timers.add(timer);
      } else {
        answer();
      }
    };
    this.server = tls ? https.createServer(tls, handle) : http.createServer(handle);
  }

  /** Over HTTPS with `tls` (key, cert, and for client certificates requestCert, ca...), else plain HTTP. */
  static async start(tls?: https.ServerOptions): Promise<FixtureServer> {
    const fixture = new FixtureServer(tls);
    await new Promise<void>((resolve) => fixture.server.listen(0, '127.0.0.1', resolve));
    return fixture;
  }

  get url(): string {
    return `${this.server instanceof https.Server ? 'https' : 'http'}://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
