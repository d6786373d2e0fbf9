/**
 * Content summaries of HDFS paths through WebHDFS (hadoop-hdfs WebHDFS.md): GET
 * /webhdfs/v1/<path>?op=GETCONTENTSUMMARY answers {"ContentSummary": {directoryCount, fileCount,
 * length, quota, spaceConsumed, spaceQuota, typeQuota}}, with -1 for a quota that is not set; an
 * error is {"RemoteException": {...}} with the status of WebHDFS's ExceptionHandler (404 for
 * FileNotFoundException, 403 for AccessControlException and StandbyException).
 */
import { ConfigError, type ConfigSection } from '../../lib/config/config';
import { SourceFailure } from '../../lib/documents/failures';
import type { FieldsOf } from '../../lib/documents/kinds';
import { fetchJson, HttpStatusFailure } from '../../lib/http/get';
import type { ClientTls } from '../../lib/tls/clientTls';
import type { HADOOP_CONTENT_SUMMARY } from '../../schemas/kinds';
import { endpointTag, percent, routeUrl, wholeNumber } from './endpoint';
import { fetchBean } from './jmx';
import { BEANS } from './namenode';

export type ContentSummaryFields = FieldsOf<typeof HADOOP_CONTENT_SUMMARY>;

/** Each path is one series (tag `path`): a bound on what one config can ask for. */
export const MAX_PATHS = 100;

export interface WebHdfsRequest {
  timeoutMs: number;
  signal: AbortSignal;
  tls?: ClientTls;
  /** `user.name` of WebHDFS's simple authentication; undefined on a Kerberos cluster. */
  user?: string;
}

/** The configured HDFS paths: absolute, without `.`/`..` or empty segments, each once; a trailing / is dropped. */
export function configuredPaths(section: ConfigSection, file: string): string[] {
  const key = 'webhdfs_paths';
  if (!section.has(key)) throw new ConfigError(`${file}: [hadoop] ${key} is missing: the HDFS paths whose content summary webhdfs reads, e.g. /eventindex/data, /user/atlevind`);
  const paths = section.list(key).map((text, index) => {
    const path = text.length > 1 ? text.replace(/\/+$/, '') : text;
    const segments = path.split('/').slice(1);
    const bad = !path.startsWith('/') || /\p{Cc}/u.test(path) || (path !== '/' && segments.some((segment) => segment === '' || segment === '.' || segment === '..'));
    if (bad) throw new ConfigError(`${file}: [hadoop] ${key}: item ${index + 1} must be an absolute HDFS path such as /eventindex/data (no empty, . or .. parts), got "${text}"`);
    return path;
  });
  const repeated = paths.find((path, index) => paths.indexOf(path) !== index);
  if (repeated) throw new ConfigError(`${file}: [hadoop] ${key}: ${repeated} is listed twice`);
  if (paths.length > MAX_PATHS) throw new ConfigError(`${file}: [hadoop] ${key}: ${paths.length} paths, at most ${MAX_PATHS} (each is a series of hadoop/content_summary)`);
  return paths;
}

/**
 * The NameNode to ask: the only one, or the active one of an HA pair (NameNodeStatus State), since a
 * standby refuses reads with a StandbyException.
 */
export async function activeNameNode(urls: string[], request: WebHdfsRequest): Promise<string> {
  if (urls.length === 1) return urls[0];
  const states = await Promise.allSettled(urls.map((url) => fetchBean(url, BEANS.status, { source: 'NameNode', ...request })));
  const active = states.findIndex((state) => state.status === 'fulfilled' && state.value?.State === 'active');
  if (active >= 0) return urls[active];
  const described = states.map((state, index) => `${endpointTag(urls[index])} ${state.status === 'fulfilled' ? (state.value ? `is ${String(state.value.State)}` : `has no ${BEANS.status} bean`) : `cannot be read: ${(state.reason as Error).message}`}`);
  const failed = states.find((state): state is PromiseRejectedResult => state.status === 'rejected' && state.reason instanceof SourceFailure);
  throw new SourceFailure(failed ? (failed.reason as SourceFailure).failureClass : 'other', `WebHDFS: no active NameNode: ${described.join('; ')}`);
}

function webHdfsUrl(baseUrl: string, path: string): string {
  const encoded = path.split('/').map(encodeURIComponent).join('/');
  return routeUrl(baseUrl, `webhdfs/v1${encoded}`).href;
}

/** WebHDFS's statuses as what they mean for one path (the RemoteException names the cause). */
function pathFailure(error: unknown, path: string, nameNode: string): unknown {
  if (!(error instanceof HttpStatusFailure)) return error;
  if (error.statusCode === 404 && error.bodyStart.includes('FileNotFoundException')) return new SourceFailure('not_found', `WebHDFS ${nameNode}: ${path} does not exist (HTTP 404, FileNotFoundException)`);
  if (error.statusCode === 403) return new SourceFailure('permission', `WebHDFS ${nameNode}: reading ${path} refused (HTTP 403: AccessControlException, or a standby NameNode)`);
  return error;
}

function whole(summary: Record<string, unknown>, key: string, path: string, minimum = 0): number {
  return wholeNumber(summary, key, `WebHDFS ContentSummary of ${path}:`, minimum);
}

/** The fields of one ContentSummary. A quota of -1 (not set) leaves its fields out: never a -1 quota to sum or compare. */
export function contentSummaryFields(answer: unknown, path: string): ContentSummaryFields {
  const summary = typeof answer === 'object' && answer !== null ? (answer as { ContentSummary?: unknown }).ContentSummary : undefined;
  if (typeof summary !== 'object' || summary === null || Array.isArray(summary)) throw new SourceFailure('malformed', `WebHDFS answer for ${path} has no "ContentSummary" object`);
  const values = summary as Record<string, unknown>;
  const files = whole(values, 'fileCount', path);
  const directories = whole(values, 'directoryCount', path);
  const spaceConsumed = whole(values, 'spaceConsumed', path);
  const quota = whole(values, 'quota', path, -1);
  const spaceQuota = whole(values, 'spaceQuota', path, -1);
  return {
    up: 1,
    length_bytes: whole(values, 'length', path),
    space_consumed_bytes: spaceConsumed,
    files,
    directories,
    namespace_quota: quota > 0 ? quota : undefined,
    // The namespace quota counts files and directories, the path itself included (as directoryCount does).
    namespace_quota_used_percent: quota > 0 ? percent(files + directories, quota) : undefined,
    space_quota_bytes: spaceQuota > 0 ? spaceQuota : undefined,
    space_quota_used_percent: spaceQuota > 0 ? percent(spaceConsumed, spaceQuota) : undefined,
  };
}

/** GETCONTENTSUMMARY of one path; a missing path is a `not_found` failure of that path alone. */
export async function readContentSummary(nameNodeUrl: string, path: string, request: WebHdfsRequest): Promise<ContentSummaryFields> {
  const { user, ...get } = request;
  let answer: unknown;
  try {
    answer = await fetchJson(webHdfsUrl(nameNodeUrl, path), { source: 'WebHDFS', ...get, searchParams: { op: 'GETCONTENTSUMMARY', ...(user ? { 'user.name': user } : {}) } });
  } catch (error) {
    throw pathFailure(error, path, endpointTag(nameNodeUrl));
  }
  return contentSummaryFields(answer, path);
}
