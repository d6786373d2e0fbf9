/** Reading MBeans from a Hadoop daemon's /jmx servlet (JSON: { "beans": [ { "name": ..., attributes } ] }). */
import { SourceFailure } from '../../lib/documents/failures';
import { withoutCredentials } from '../../lib/http/credentials';
import { fetchBody } from '../../lib/http/get';
import type { ClientTls } from '../../lib/tls/clientTls';
import { optionalWholeNumber, routeUrl, wholeNumber } from './endpoint';

export type JmxBean = Record<string, unknown>;

export interface JmxRequest {
  /** Names the daemon in messages: "NameNode", "HBase master". */
  source: string;
  timeoutMs: number;
  signal: AbortSignal;
  tls?: ClientTls;
}

/** The beans matching `query` (`/jmx?qry=...`: an exact object name, or a JMX pattern such as `Hadoop:service=HBase,name=Master,sub=*`). */
export async function fetchBeans(baseUrl: string, query: string, request: JmxRequest): Promise<JmxBean[]> {
  const url = routeUrl(baseUrl, 'jmx');
  const body = await fetchBody(url.href, { source: request.source, timeoutMs: request.timeoutMs, signal: request.signal, tls: request.tls, searchParams: { qry: query } });
  const shown = withoutCredentials(url.href);
  let answer: unknown;
  try {
    answer = JSON.parse(body.toString('utf8'));
  } catch {
    throw new SourceFailure('malformed', `${shown}?qry=${query} did not answer JSON: ${JSON.stringify(body.toString('utf8', 0, 80))}`);
  }
  const beans = (answer as { beans?: unknown }).beans;
  if (!Array.isArray(beans)) throw new SourceFailure('malformed', `${shown}: the answer has no "beans" list`);
  return beans.filter((bean): bean is JmxBean => typeof bean === 'object' && bean !== null && typeof (bean as JmxBean).name === 'string');
}

/** One MBean by its exact object name, or undefined when the daemon does not have it. */
export async function fetchBean(baseUrl: string, objectName: string, request: JmxRequest): Promise<JmxBean | undefined> {
  return (await fetchBeans(baseUrl, objectName, request)).find((bean) => bean.name === objectName);
}

/** A whole number attribute of a bean, or a `malformed` failure naming the bean and attribute. */
export function count(bean: JmxBean, attribute: string, beanName: string): number {
  return wholeNumber(bean, attribute, beanName);
}

/** A whole number attribute the daemon may not report (older versions): undefined when absent or not a whole number. */
export function optionalCount(bean: JmxBean | undefined, attribute: string): number | undefined {
  return optionalWholeNumber(bean, attribute);
}
