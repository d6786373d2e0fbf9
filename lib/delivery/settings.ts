import { ConfigError, type Config, type ConfigSection } from '../config/config';
import { tlsSettings, type TlsSettings } from '../tls/clientTls';
import { withoutCredentials } from '../http/credentials';

/** Where and how documents are sent: the [monit] section (the default route). */
export interface MonitSettings {
  url: string;
  token?: string;
  username?: string;
  password?: string;
  /** Per-request timeout. */
  timeoutMs: number;
  /** Requests in flight at once. */
  concurrency: number;
  maxBatchDocuments: number;
  maxBatchBytes: number;
  /** Spool size bound: beyond it the oldest batches are dropped (and counted). */
  spoolMaxBytes: number;
}

export function monitSettings(config: Config): MonitSettings {
  const section = config.section('monit');
  return {
    url: section.url('url'),
    token: section.optionalSecret('token'),
    username: section.optionalString('username'),
    password: section.optionalSecret('password'),
    ...limits(section),
  };
}

type Limits = Pick<MonitSettings, 'timeoutMs' | 'concurrency' | 'maxBatchDocuments' | 'maxBatchBytes' | 'spoolMaxBytes'>;

/** The request and spool limits of a section; a route's fall back to [monit]'s (`inherited`). */
function limits(section: ConfigSection, inherited?: Limits): Limits {
  return {
    timeoutMs: inherited && !section.has('timeout') ? inherited.timeoutMs : section.duration('timeout', '30s'),
    concurrency: section.int('concurrency', inherited?.concurrency ?? 2, { min: 1, max: 64 }),
    maxBatchDocuments: section.int('max_batch_documents', inherited?.maxBatchDocuments ?? 5000, { min: 1, max: 10_000 }),
    maxBatchBytes: section.int('max_batch_bytes', inherited?.maxBatchBytes ?? 8_000_000, { min: 1000 }),
    spoolMaxBytes: section.int('spool_max_bytes', inherited?.spoolMaxBytes ?? 500_000_000, { min: 1000 }),
  };
}

/** Which documents a route takes: every one (`*`), a producer's, or one producer/type's. */
export interface Selector {
  /** As written: `panda`, `monit-collectors/availability` or `*`. */
  text: string;
  producer?: string;
  type?: string;
}

export function selects(selector: Selector, producer: string, type: string): boolean {
  return (selector.producer === undefined || selector.producer === producer) && (selector.type === undefined || selector.type === type);
}

/** Whether some document is taken by both selectors. */
function overlap(one: Selector, other: Selector): boolean {
  const same = (a: string | undefined, b: string | undefined): boolean => a === undefined || b === undefined || a === b;
  return same(one.producer, other.producer) && same(one.type, other.type);
}

/** One destination: the default route ([monit]) or a [monit.route.<name>] section. */
export interface RouteSettings extends MonitSettings {
  /** `default`, or the <name> of [monit.route.<name>] (also its spool folder). */
  name: string;
  /** `monit` or `monit.route.<name>`: the section to fix, named in messages. */
  section: string;
  /** Empty for the default route, which takes what no other route takes. */
  selectors: Selector[];
  /** The producer written into the documents sent on this route; unset keeps each document's own. */
  sendAs?: string;
  /** The route takes a copy: the documents also go where they would go without it. */
  copy: boolean;
  /** Its TLS: [tls.monit] for the default route, [tls.monit.route.<name>] for a route. */
  tls: TlsSettings;
}

export interface Routing {
  default: RouteSettings;
  /** The [monit.route.<name>] sections, in the order of the file. */
  routes: RouteSettings[];
}

export const DEFAULT_ROUTE = 'default';
const ROUTE_PREFIX = 'monit.route';
const ROUTE_KEYS = ['producers', 'copy', 'send_as', 'url', 'token', 'username', 'password', 'timeout', 'concurrency', 'max_batch_documents', 'max_batch_bytes', 'spool_max_bytes'];
/** A producer name as the envelope allows it (schemas/envelope.schema.json). */
const PRODUCER = /^[A-Za-z0-9_.-]+$/;
/** A route name is a folder in the spool: `rejected` is the spool's own. */
const ROUTE_NAME = /^[a-z0-9][a-z0-9_-]*$/;

function selector(text: string, where: string): Selector {
  if (text === '*') return { text };
  const parts = text.split('/');
  if (parts.length > 2 || !parts.every((part) => PRODUCER.test(part))) {
    throw new ConfigError(`${where}: "${text}" is not a producer (panda), a producer/type (monit-collectors/availability) or *`);
  }
  return { text, producer: parts[0], type: parts[1] };
}

function route(config: Config, section: ConfigSection, inherited: Limits): RouteSettings {
  const name = section.name.slice(ROUTE_PREFIX.length + 1);
  const where = (key: string): string => `${config.file}: [${section.name}] ${key}`;
  if (!ROUTE_NAME.test(name) || name === 'rejected' || name === DEFAULT_ROUTE) {
    throw new ConfigError(`${config.file}: [${section.name}]: a route name is lower-case letters, digits, - and _ (it names its spool folder), and not "rejected" or "default"`);
  }
  const unknown = section.keys().filter((key) => !ROUTE_KEYS.includes(key));
  if (unknown.length) throw new ConfigError(`${where(unknown[0])} is not a route setting (known: ${ROUTE_KEYS.join(', ')})`);
  const selectors = section.list('producers', []).map((text) => selector(text, where('producers')));
  if (!selectors.length) throw new ConfigError(`${where('producers')} is missing: list the producers (or producer/type) this route takes`);
  const sendAs = section.optionalString('send_as');
  if (sendAs !== undefined && !PRODUCER.test(sendAs)) throw new ConfigError(`${where('send_as')} must be a producer name (letters, digits, _ . -), got "${sendAs}"`);
  const token = section.optionalSecret('token');
  const password = section.optionalSecret('password');
  // MONIT's per-producer endpoint: the basic-auth user is the producer, so the tenant name is the default.
  const username = section.optionalString('username') ?? (password !== undefined ? sendAs : undefined);
  if (token !== undefined && (username !== undefined || password !== undefined)) throw new ConfigError(`${where('token')}: set token, or username and password, not both`);
  if (password !== undefined && username === undefined) throw new ConfigError(`${where('password')} needs username (or send_as, the basic-auth user MONIT expects)`);
  return {
    name,
    section: section.name,
    url: section.url('url'),
    token,
    username,
    password,
    ...limits(section, inherited),
    selectors,
    sendAs,
    copy: section.bool('copy', false),
    tls: identityOverHttpsOnly(config, section.name, section.url('url')),
  };
}

/** The TLS settings of an endpoint; an identity for a plain http URL would be silently unused, so it is a config error. */
function identityOverHttpsOnly(config: Config, source: string, url: string): TlsSettings {
  const tls = tlsSettings(config, source);
  if (tls.identity !== 'none' && !url.toLowerCase().startsWith('https:')) {
    throw new ConfigError(
      `${config.file}: [tls.${source}] identity = ${tls.identity}, but [${source}] url is plain http (${withoutCredentials(url)}): an identity is presented over https only; use an https URL, or the route's own token or username and password`,
    );
  }
  return tls;
}

/**
 * [monit] and its [monit.route.<name>] sections. Two routes without `copy` that can take the same
 * documents are a configuration error naming both; credentials are never inherited from [monit].
 */
export function routingSettings(config: Config): Routing {
  const monit = monitSettings(config);
  const routes = config.sectionsUnder(ROUTE_PREFIX).map((section) => route(config, section, monit));
  const exclusive = routes.filter((candidate) => !candidate.copy);
  for (const [index, one] of exclusive.entries()) {
    for (const other of exclusive.slice(index + 1)) {
      for (const mine of one.selectors) {
        const theirs = other.selectors.find((candidate) => overlap(mine, candidate));
        if (theirs) {
          throw new ConfigError(
            `${config.file}: [${one.section}] producers "${mine.text}" and [${other.section}] producers "${theirs.text}" take the same documents: a document goes to one route (add copy = yes to one of them to send it to both)`,
          );
        }
      }
    }
  }
  return { default: { ...monit, name: DEFAULT_ROUTE, section: 'monit', selectors: [], copy: false, tls: identityOverHttpsOnly(config, 'monit', monit.url) }, routes };
}
