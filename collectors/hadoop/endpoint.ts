/** What every part of the hadoop collector shares: its configured endpoints, and one endpoint's failure as a document's fields. */
import { ConfigError, type ConfigSection } from '../../lib/config/config';
import { SourceFailure, type FailureClass } from '../../lib/documents/failures';
import { withoutCredentials } from '../../lib/http/credentials';
import type { CollectorContext } from '../../lib/run/collector';

/** A configured URL as messages show it: without user:password@ (sent, never shown). */
export function shownUrl(url: string): string {
  return withoutCredentials(url);
}

/** The URL of `route` (relative, e.g. "jmx") below a daemon's configured web address, with or without its trailing /. */
export function routeUrl(baseUrl: string, route: string): URL {
  return new URL(route, baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
}

/** part / total in percent, to 3 decimals; undefined when total is not positive (nothing to be a share of). */
export function percent(part: number, total: number): number | undefined {
  return total > 0 ? Math.round((part / total) * 100 * 1000) / 1000 : undefined;
}

/** A whole number member of a daemon's answer, at least `minimum`; otherwise a `malformed` failure naming `where` and the key. */
export function wholeNumber(object: Record<string, unknown>, key: string, where: string, minimum = -Infinity): number {
  const value = object[key];
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < minimum) throw new SourceFailure('malformed', `${where} ${key} is not a whole number: ${JSON.stringify(value)}`);
  return value;
}

/** A whole number member a daemon may not report (older versions): undefined when absent or not a whole number of at least `minimum`. */
export function optionalWholeNumber(object: Record<string, unknown> | undefined, key: string, minimum = -Infinity): number | undefined {
  const value = object?.[key];
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= minimum ? value : undefined;
}

/** The tag of a daemon: host:port of its web address (bounded: one per configured URL). */
export function endpointTag(url: string): string {
  return new URL(url).host;
}

/** The http(s) URLs of a list key, [] when the key is absent; a bad or repeated one is a ConfigError naming the key. */
export function urlList(section: ConfigSection, file: string, key: string, example: string): string[] {
  if (!section.has(key)) return [];
  const urls = section.list(key).map((text, index) => {
    try {
      const url = new URL(text);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http(s)');
    } catch {
      throw new ConfigError(`${file}: [hadoop] ${key}: item ${index + 1} must be an http(s) URL such as ${example}, got "${text}"`);
    }
    return text;
  });
  const hosts = urls.map(endpointTag);
  const repeated = hosts.find((host, index) => hosts.indexOf(host) !== index);
  if (repeated) throw new ConfigError(`${file}: [hadoop] ${key}: ${repeated} is listed twice`);
  return urls;
}

export interface Failed {
  up: 0;
  error: FailureClass;
  message: string;
}

/** An error of reading one endpoint as the fields of its up=0 document; anything but a SourceFailure is an answer we could not understand. */
export function failedFields(error: unknown): Failed {
  const failure = error instanceof SourceFailure ? error : new SourceFailure('malformed', (error as Error).message);
  return { up: 0, error: failure.failureClass, message: failure.message.slice(0, 300) };
}

/**
 * Runs `read` for one endpoint and times it: its fields, or the up=0 fields of its failure, which is
 * also reported as a run problem (`hadoop: <label> (<class>): <message>`). Other endpoints go on.
 */
export async function readEndpoint<Fields>(context: CollectorContext, label: string, read: () => Promise<Fields>): Promise<{ fields: Fields | Failed; durationMs: number }> {
  const started = performance.now();
  let fields: Fields | Failed;
  try {
    fields = await read();
  } catch (error) {
    fields = failedFields(error);
    context.problem(`hadoop: ${label} (${fields.error}): ${error instanceof Error ? error.message : String(error)}`);
  }
  return { fields, durationMs: Math.round(performance.now() - started) };
}
