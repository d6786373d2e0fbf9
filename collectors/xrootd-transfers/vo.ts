/**
 * Which VO a file access belongs to, from the [xrootd-transfers.vo] rules: each key names a VO, its
 * value lists `kind:pattern` rules. Kinds are tried in RULE_KINDS order (a token is more reliable
 * than a DN, a DN than what the client says of itself, and a path last); within a kind, the VOs in
 * the order of the file. The first match wins; nothing matching gives 'unknown'.
 */
import type { ConfigSection } from '../../lib/config/config';
import { UNKNOWN } from '../../lib/sites/siteTable';

/** The rule kinds, in the order they are tried. */
export const RULE_KINDS = ['issuer', 'group', 'dn', 'appinfo', 'path'] as const;
export type RuleKind = (typeof RULE_KINDS)[number];

/** What is known of an access when its file is opened. */
export interface AccessIdentity {
  /** The token's issuer and groups (WLCG token logins). */
  token?: { issuer?: string; groups?: readonly string[] };
  /** The client's certificate DN. */
  dn?: string;
  /** What the client said of itself at login (XRD_MONINFO, login `y=`). */
  appinfo?: string;
  /** The file's logical name. */
  path?: string;
}

interface Rule {
  vo: string;
  kind: RuleKind;
  matches: (value: string) => boolean;
}

/** A pattern where `*` stands for any text: the whole value must match. */
function globMatcher(pattern: string): (value: string) => boolean {
  const expression = new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 's');
  return (value) => expression.test(value);
}

/** VO names become tag values: short words only. */
const VO_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export class VoRules {
  /** Rules grouped by kind, in the order they are tried. */
  private readonly byKind: ReadonlyMap<RuleKind, Rule[]>;

  constructor(rules: Rule[]) {
    this.byKind = new Map(RULE_KINDS.map((kind) => [kind, rules.filter((rule) => rule.kind === kind)]));
  }

  get size(): number {
    return [...this.byKind.values()].reduce((sum, rules) => sum + rules.length, 0);
  }

  /** The VO of an access: the first rule that matches, by kind then file order; else 'unknown'. */
  voOf(identity: AccessIdentity): string {
    const values: Record<RuleKind, readonly string[]> = {
      issuer: identity.token?.issuer ? [identity.token.issuer] : [],
      group: identity.token?.groups ?? [],
      dn: identity.dn ? [identity.dn] : [],
      appinfo: identity.appinfo ? [identity.appinfo] : [],
      path: identity.path ? [identity.path] : [],
    };
    for (const [kind, rules] of this.byKind) {
      for (const rule of rules) if (values[kind].some(rule.matches)) return rule.vo;
    }
    return UNKNOWN;
  }
}

/** Parses [xrootd-transfers.vo]; a malformed rule is a ConfigError naming the key and the rule. */
export function parseVoRules(section: ConfigSection): VoRules {
  const rules: Rule[] = [];
  for (const vo of section.keys()) {
    if (!VO_NAME.test(vo) || vo === UNKNOWN) throw section.invalid(vo, `is not a VO name: letters, digits, _ . - (and not "${UNKNOWN}")`);
    const items = section.list(vo, []);
    if (!items.length) throw section.invalid(vo, `lists no rules: give kind:pattern items (kinds: ${RULE_KINDS.join(', ')})`);
    for (const item of items) {
      const colon = item.indexOf(':');
      const kind = item.slice(0, colon).trim() as RuleKind;
      const pattern = item.slice(colon + 1).trim();
      if (colon <= 0 || !RULE_KINDS.includes(kind)) {
        throw section.invalid(vo, `rule "${item}" must be kind:pattern with kind one of ${RULE_KINDS.join(', ')}`);
      }
      if (!pattern || pattern === '*') throw section.invalid(vo, `rule "${item}" has an empty pattern (a lone * would match everything)`);
      // A path is a prefix; the other kinds match the whole value, with * for any text.
      const matches = kind === 'path' ? (value: string) => value.startsWith(pattern) : globMatcher(pattern);
      rules.push({ vo, kind, matches });
    }
  }
  return new VoRules(rules);
}
