import { XMLParser } from 'fast-xml-parser';

/** One exported path of the server's storage, from the report's oss block. */
export interface OssPath {
  /** Logical path (lp), e.g. "/". */
  path: string;
  totalKiB: number;
  freeKiB: number;
}

/**
 * One XRootD summary report (`<statistics>`), as pushed by `xrd.report` or answered to
 * `query stats a`. Numbers of the stats blocks are flattened to dotted keys: `link.in`,
 * `xrootd.lgn.au`, `sched.inq`, ...
 */
export interface SummaryReport {
  /** host:port as the server names itself (src). */
  source: string;
  /** xrootd or cmsd (pgm). */
  program: string;
  pid: number;
  /** Server start, Unix seconds (tos). */
  startTime: number;
  /** When the report was made, Unix seconds (tod). */
  time: number;
  site?: string;
  version?: string;
  values: Record<string, number>;
  ossPaths: OssPath[];
}

export class ReportFormatError extends Error {
  override name = 'ReportFormatError';
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  parseTagValue: false,
  parseAttributeValue: false,
  isArray: (name) => name === 'stats',
});

type XmlNode = Record<string, unknown>;

function isNode(value: unknown): value is XmlNode {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Collects every numeric leaf of a stats block under `prefix.` (attributes and nested stats left out). */
function flatten(node: XmlNode, prefix: string, into: Record<string, number>): void {
  for (const [key, value] of Object.entries(node)) {
    if (key.startsWith('@') || key === 'stats' || key === '#text') continue;
    const name = `${prefix}.${key}`;
    if (isNode(value)) flatten(value, name, into);
    else if (typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value.trim())) into[name] = Number(value);
  }
}

function unquote(text: unknown): string {
  return String(text ?? '').replace(/^"|"$/g, '');
}

function ossPathsOf(block: XmlNode): OssPath[] {
  const paths = block.paths;
  if (!isNode(paths) || !Array.isArray(paths.stats)) return [];
  const result: OssPath[] = [];
  for (const entry of paths.stats as unknown[]) {
    if (!isNode(entry)) continue;
    const totalKiB = Number(entry.tot);
    const freeKiB = Number(entry.free);
    const path = unquote(entry.lp);
    if (path && Number.isFinite(totalKiB) && Number.isFinite(freeKiB)) result.push({ path, totalKiB, freeKiB });
  }
  return result;
}

function requiredNumber(attributes: XmlNode, name: string): number {
  const value = Number(attributes[`@${name}`]);
  if (attributes[`@${name}`] === undefined || !Number.isFinite(value)) {
    throw new ReportFormatError(`<statistics> lacks a numeric ${name} attribute`);
  }
  return value;
}

/** Parses one report; throws ReportFormatError when it is not an XRootD summary report. */
export function parseSummaryReport(text: string): SummaryReport {
  // The `query stats` reply ends in a NUL byte (and xrdfs adds a new line).
  const xml = text.replace(/[\0\s]+$/, '');
  let document: XmlNode;
  try {
    document = parser.parse(xml, true) as XmlNode;
  } catch (error) {
    throw new ReportFormatError(`not well-formed XML: ${(error as Error).message.split('\n')[0]}`);
  }
  const statistics = document.statistics;
  if (!isNode(statistics)) throw new ReportFormatError('no <statistics> element');
  const source = String(statistics['@src'] ?? '');
  if (!source) throw new ReportFormatError('<statistics> lacks the src attribute');
  const values: Record<string, number> = {};
  let ossPaths: OssPath[] = [];
  for (const block of (statistics.stats as unknown[] | undefined) ?? []) {
    if (!isNode(block) || typeof block['@id'] !== 'string') continue;
    const id = block['@id'];
    if (id === 'oss') ossPaths = ossPathsOf(block);
    else flatten(block, id, values);
  }
  const site = String(statistics['@site'] ?? '').trim();
  const version = String(statistics['@ver'] ?? '').trim();
  return {
    source,
    program: String(statistics['@pgm'] ?? 'xrootd') || 'xrootd',
    pid: requiredNumber(statistics, 'pid'),
    startTime: requiredNumber(statistics, 'tos'),
    time: requiredNumber(statistics, 'tod'),
    site: site || undefined,
    version: version || undefined,
    values,
    ossPaths,
  };
}
