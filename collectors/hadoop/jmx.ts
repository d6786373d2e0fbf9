/** Reading MBeans from a Hadoop daemon's /jmx servlet (JSON: { "beans": [ { "name": ..., attributes } ] }). */
import { SourceFailure } from '../../lib/documents/failures';
import { fetchBody } from '../../lib/http/get';
import type { ClientTls } from '../../lib/tls/clientTls';

export type JmxBean = Record<string, unknown>;

/** One MBean by its exact object name (`/jmx?qry=...`), or undefined when the daemon does not have it. */
export async function fetchBean(baseUrl: string, objectName: string, timeoutMs: number, signal: AbortSignal, tls?: ClientTls): Promise<JmxBean | undefined> {
  const url = new URL('jmx', baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
  const body = await fetchBody(url.href, { source: 'NameNode', timeoutMs, signal, tls, searchParams: { qry: objectName } });
  let answer: unknown;
  try {
    answer = JSON.parse(body.toString('utf8'));
  } catch {
    throw new SourceFailure('malformed', `${url.href}?qry=${objectName} did not answer JSON: ${JSON.stringify(body.toString('utf8', 0, 80))}`);
  }
  const beans = (answer as { beans?: unknown }).beans;
  if (!Array.isArray(beans)) throw new SourceFailure('malformed', `${url.href}: the answer has no "beans" list`);
  return beans.find((bean): bean is JmxBean => typeof bean === 'object' && bean !== null && (bean as JmxBean).name === objectName);
}
