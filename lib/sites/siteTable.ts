/**
 * Host name → site: a domain → site table whose entries may hold first-label rules for domains shared
 * by several sites, e.g.
 *   in2p3.fr = cc*:IN2P3-CC, clr*:IN2P3-LPC
 *   cern.ch = CERN-PROD
 * The detailed XRootD stream maps its clients with it, and xrdprobe its own host, so that both name a
 * site alike.
 */
import { isIP } from 'node:net';

export const UNKNOWN = 'unknown';

interface DomainRule {
  /** The first label must start with this ('' = any host of the domain). */
  firstLabelPrefix: string;
  site: string;
}

export interface SiteTable {
  /** Domain (lower case) → rules, tried in order. */
  domains: Map<string, DomainRule[]>;
}

/** Parses `domain = SITE` or `domain = prefix*:SITE, prefix*:SITE[, DEFAULT-SITE]` entries. */
export function parseSiteTable(entries: Array<[string, string]>): SiteTable {
  const domains = new Map<string, DomainRule[]>();
  for (const [domain, value] of entries) {
    const rules: DomainRule[] = [];
    for (const item of value.split(',').map((part) => part.trim()).filter(Boolean)) {
      const match = /^([A-Za-z0-9-]*)\*\s*:\s*(\S+)$/.exec(item);
      if (match) rules.push({ firstLabelPrefix: match[1].toLowerCase(), site: match[2] });
      else if (/^\S+$/.test(item)) rules.push({ firstLabelPrefix: '', site: item });
      else throw new Error(`site table entry "${domain} = ${value}": "${item}" is neither SITE nor prefix*:SITE`);
    }
    domains.set(domain.toLowerCase().replace(/^\.+|\.+$/g, ''), rules);
  }
  return { domains };
}

export interface ClientPlace {
  /** The name the mapping used: the reverse-DNS name, or the address when it has none. */
  hostName: string;
  domain: string;
  site: string;
}

/** Strips the brackets and IPv4-mapped prefix XRootD writes around client addresses. */
export function normaliseHost(host: string): string {
  let name = host.trim().toLowerCase();
  if (name.startsWith('[') && name.endsWith(']')) name = name.slice(1, -1);
  if (name.startsWith('::ffff:') && isIP(name.slice(7)) === 4) name = name.slice(7);
  return name.replace(/\.$/, '');
}

/** Maps a host name (not an address) through the table: the longest matching domain wins. */
export function siteOfHostName(table: SiteTable, hostName: string): ClientPlace {
  const name = normaliseHost(hostName);
  if (isIP(name)) return { hostName: name, domain: UNKNOWN, site: UNKNOWN };
  const labels = name.split('.');
  for (let start = 0; start < labels.length; start += 1) {
    const domain = labels.slice(start).join('.');
    const rules = table.domains.get(domain);
    if (!rules) continue;
    const rule = rules.find((candidate) => labels[0].startsWith(candidate.firstLabelPrefix));
    return { hostName: name, domain, site: rule ? rule.site : UNKNOWN };
  }
  return { hostName: name, domain: labels.length >= 2 ? labels.slice(-2).join('.') : name, site: UNKNOWN };
}
