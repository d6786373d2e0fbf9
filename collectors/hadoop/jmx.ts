/** Reading MBeans from a Hadoop daemon's /jmx servlet (JSON: { "beans": [ { "name": ..., attributes } ] }). */

export type JmxBean = Record<string, unknown>;

/** Why a NameNode gave no figures: a short, stable class for the document, and a message for people. */
export type JmxErrorClass = 'timeout' | 'connect' | 'status' | 'malformed' | 'aborted';

export class JmxError extends Error {
  override name = 'JmxError';
  constructor(
    readonly errorClass: JmxErrorClass,
    message: string,
  ) {
    super(message);
  }
}

/** One MBean by its exact object name (`/jmx?qry=...`), or undefined when the daemon does not have it. */
export async function fetchBean(baseUrl: string, objectName: string, timeoutMs: number, signal: AbortSignal): Promise<JmxBean | undefined> {
  const url = new URL('jmx', baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
  url.searchParams.set('qry', objectName);
  const timeout = AbortSignal.timeout(timeoutMs);
  let response: Response;
  let text: string;
  try {
    response = await fetch(url, { signal: AbortSignal.any([signal, timeout]), headers: { accept: 'application/json' } });
    text = await response.text();
  } catch (error) {
    if (signal.aborted) throw new JmxError('aborted', 'stopped at the job deadline');
    if (timeout.aborted) throw new JmxError('timeout', `no answer from ${url.origin} within ${timeoutMs} ms`);
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new JmxError('connect', `${url.origin}: ${cause?.code ?? ''} ${cause?.message ?? (error as Error).message}`.trim());
  }
  if (!response.ok) throw new JmxError('status', `${url.href} answered HTTP ${response.status}`);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new JmxError('malformed', `${url.href} did not answer JSON: ${JSON.stringify(text.slice(0, 80))}`);
  }
  const beans = (body as { beans?: unknown }).beans;
  if (!Array.isArray(beans)) throw new JmxError('malformed', `${url.href}: the answer has no "beans" list`);
  return beans.find((bean): bean is JmxBean => typeof bean === 'object' && bean !== null && (bean as JmxBean).name === objectName);
}
