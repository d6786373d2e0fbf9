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

/** One element of the report: XRootD writes plain, regular XML (no comments, CDATA or mixed namespaces). */
interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  text: string;
}

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
const decode = (text: string): string => text.replace(/&(lt|gt|amp|quot|apos);/g, (_, name: string) => ENTITIES[name]);

// A tag (closing, opening or self-closing, with attributes) or a run of text; sticky, so nothing is skipped.
const TOKEN = /<(\/?)([A-Za-z_][\w.:-]*)((?:\s+[\w.:-]+\s*=\s*"[^"]*")*)\s*(\/?)>|([^<]+)/y;
const ATTRIBUTE = /([\w.:-]+)\s*=\s*"([^"]*)"/g;

/**
 * A small strict XML reader for the summary report: several times faster than a general parser on
 * these packets, and it refuses a truncated or garbled packet instead of returning part of it.
 */
function parseXml(xml: string): XmlElement {
  const root: XmlElement = { name: '', attributes: {}, children: [], text: '' };
  const stack: XmlElement[] = [root];
  let position = xml.startsWith('<?xml') ? xml.indexOf('?>') + 2 : 0;
  while (position < xml.length) {
    TOKEN.lastIndex = position;
    const match = TOKEN.exec(xml);
    if (!match) throw new ReportFormatError(`not well-formed XML at offset ${position}`);
    position = TOKEN.lastIndex;
    const [, closing, name, attributeText, selfClosing, text] = match;
    const current = stack[stack.length - 1];
    if (text !== undefined) {
      current.text += decode(text);
    } else if (closing) {
      if (current.name !== name || stack.length === 1) throw new ReportFormatError(`not well-formed XML: </${name}> closes <${current.name || 'nothing'}>`);
      stack.pop();
    } else {
      const element: XmlElement = { name, attributes: {}, children: [], text: '' };
      for (const [, key, value] of attributeText.matchAll(ATTRIBUTE)) element.attributes[key] = decode(value);
      current.children.push(element);
      if (!selfClosing) stack.push(element);
    }
  }
  if (stack.length !== 1) throw new ReportFormatError(`not well-formed XML: <${stack[stack.length - 1].name}> is never closed (truncated packet?)`);
  return root;
}

/** Collects every numeric leaf under `prefix.` (nested <stats> left out: they are lists, such as oss paths). */
function flatten(element: XmlElement, prefix: string, into: Record<string, number>): void {
  for (const child of element.children) {
    if (child.name === 'stats') continue;
    const name = `${prefix}.${child.name}`;
    if (child.children.length) flatten(child, name, into);
    else if (/^-?\d+(\.\d+)?$/.test(child.text.trim())) into[name] = Number(child.text);
  }
}

const unquote = (text: string): string => text.trim().replace(/^"|"$/g, '');
const childText = (element: XmlElement, name: string): string => element.children.find((child) => child.name === name)?.text ?? '';

function ossPathsOf(block: XmlElement): OssPath[] {
  const paths = block.children.find((child) => child.name === 'paths');
  const result: OssPath[] = [];
  for (const entry of paths?.children ?? []) {
    if (entry.name !== 'stats') continue;
    const path = unquote(childText(entry, 'lp'));
    const totalKiB = Number(childText(entry, 'tot'));
    const freeKiB = Number(childText(entry, 'free'));
    if (path && Number.isFinite(totalKiB) && Number.isFinite(freeKiB)) result.push({ path, totalKiB, freeKiB });
  }
  return result;
}

function requiredNumber(attributes: Record<string, string>, name: string): number {
  const value = Number(attributes[name]);
  if (attributes[name] === undefined || attributes[name].trim() === '' || !Number.isFinite(value)) {
    throw new ReportFormatError(`<statistics> lacks a numeric ${name} attribute`);
  }
  return value;
}

/** Parses one report; throws ReportFormatError when it is not a complete XRootD summary report. */
export function parseSummaryReport(text: string): SummaryReport {
  // The `query stats` reply ends in a NUL byte (and xrdfs adds a new line).
  const root = parseXml(text.replace(/[\0\s]+$/, '').trimStart());
  const statistics = root.children.find((child) => child.name === 'statistics');
  if (!statistics) throw new ReportFormatError('no <statistics> element');
  const attributes = statistics.attributes;
  const source = attributes.src ?? '';
  if (!source) throw new ReportFormatError('<statistics> lacks the src attribute');
  const values: Record<string, number> = {};
  let ossPaths: OssPath[] = [];
  for (const block of statistics.children) {
    const id = block.attributes.id;
    if (block.name !== 'stats' || !id) continue;
    if (id === 'oss') ossPaths = ossPathsOf(block);
    else flatten(block, id, values);
  }
  const site = (attributes.site ?? '').trim();
  const version = (attributes.ver ?? '').trim();
  return {
    source,
    program: (attributes.pgm ?? '').trim() || 'xrootd',
    pid: requiredNumber(attributes, 'pid'),
    startTime: requiredNumber(attributes, 'tos'),
    time: requiredNumber(attributes, 'tod'),
    site: site || undefined,
    version: version || undefined,
    values,
    ossPaths,
  };
}
