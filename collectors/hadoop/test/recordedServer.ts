/** A loopback stand-in for Hadoop daemons: a /jmx dump answered like JMXJsonServlet, and recorded routes. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MonitDocument } from '../../../lib/documents/types';
import { answerText, jmxAnswer, type JmxDump, type Recording } from '../recordings';

export interface RecordedServer {
  url: string;
  /** Every request's path and query, in order. */
  requests: string[];
  close(): Promise<void>;
}

export async function recordedServer(content: { jmx?: JmxDump; routes?: Recording }): Promise<RecordedServer> {
  const requests: string[] = [];
  const server = http.createServer((request, response) => {
    requests.push(request.url ?? '');
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (content.jmx && url.pathname === '/jmx') {
      response.writeHead(200, { 'content-type': 'application/json; charset=utf8' }).end(jmxAnswer(content.jmx, url.searchParams.get('qry')));
      return;
    }
    const answer = content.routes?.[url.pathname];
    if (!answer) {
      response.writeHead(404, { 'content-type': 'text/html' }).end('<html><body>Error 404 Not Found</body></html>');
      return;
    }
    const headers: http.OutgoingHttpHeaders = { 'content-type': answer.text === undefined ? 'application/json' : 'text/plain' };
    if (answer.location) headers.location = answer.location;
    response.writeHead(answer.status ?? 200, headers).end(answerText(answer));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** A document's fields but duration_ms (and `leaveOut`), to compare with a golden *.expected.json. */
export function fieldsOf(document: MonitDocument, leaveOut: string[] = []): Record<string, unknown> {
  return Object.fromEntries((document.idb_fields ?? []).filter((key) => !['duration_ms', ...leaveOut].includes(key)).map((key) => [key, document[key]]));
}
