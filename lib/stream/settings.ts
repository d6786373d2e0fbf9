import type { ConnectionOptions } from 'nats';
import { ConfigError, type Config } from '../config/config';
import { loadClientTls, tlsSettings } from '../tls/clientTls';

/** The [stream] section: the NATS JetStream stream between gateways and writers. */
export interface StreamSettings {
  /** nats:// or tls:// URLs of the cluster's nodes; a client reconnects to any of them. */
  servers: string[];
  /** The stream of accepted documents; its dead letters go to `<name>_DEAD`. */
  name: string;
  /** Subjects are `<prefix>.<producer>`, dead letters `<prefix>_dead.<producer>`. */
  subjectPrefix: string;
  replicas: 1 | 3 | 5;
  duplicateWindowMs: number;
  /** 0: kept until consumed. */
  maxAgeMs: number;
  /** -1: up to the server's store limit. */
  maxBytes: number;
  user?: string;
  password?: string;
  token?: string;
  /** How long one publish may wait for JetStream's acknowledgement. */
  publishTimeoutMs: number;
}

const SECTION = 'stream';
/** A stream name: JetStream refuses '.', '*', '>' and white space in it. */
const STREAM_NAME = /^[A-Za-z0-9_-]+$/;
/** One subject token. */
const SUBJECT_PREFIX = /^[A-Za-z0-9_-]+$/;
const SERVER_URL = /^(nats|tls):\/\/[^\s/]+(:\d+)?\/?$/;

export function streamSettings(config: Config): StreamSettings {
  const section = config.section(SECTION);
  const servers = section.list('servers', []);
  if (!servers.length) throw section.invalid('servers', 'is missing: the nats:// (or tls://) URLs of the JetStream servers, comma-separated');
  const badServer = servers.find((server) => !SERVER_URL.test(server));
  if (badServer !== undefined) throw section.invalid('servers', `must be nats://host:port or tls://host:port URLs, got "${badServer}"`);
  const name = section.string('name', 'MONIT');
  if (!STREAM_NAME.test(name)) throw section.invalid('name', `must be letters, digits, _ and - (a JetStream stream name), got "${name}"`);
  const subjectPrefix = section.string('subject_prefix', 'monit');
  if (!SUBJECT_PREFIX.test(subjectPrefix)) throw section.invalid('subject_prefix', `must be one subject token: letters, digits, _ and -, got "${subjectPrefix}"`);
  const replicas = section.int('replicas', 1);
  if (replicas !== 1 && replicas !== 3 && replicas !== 5) throw section.invalid('replicas', `must be 1, 3 or 5 (a RAFT group needs an odd size), got ${replicas}`);
  const duplicateWindowMs = section.duration('duplicate_window', '2m');
  const maxAgeMs = section.has('max_age') ? section.duration('max_age') : 0;
  if (maxAgeMs > 0 && maxAgeMs < duplicateWindowMs) throw section.invalid('max_age', `must be at least duplicate_window (${section.string('duplicate_window', '2m')}): JetStream refuses a shorter one`);
  const maxBytes = section.has('max_bytes') ? section.int('max_bytes', undefined, { min: 1 }) : -1;
  const user = section.optionalString('user');
  const password = section.optionalSecret('password');
  const token = section.optionalSecret('token');
  if ((user === undefined) !== (password === undefined)) throw section.invalid(user === undefined ? 'user' : 'password', 'is missing: user and password go together');
  if (token !== undefined && user !== undefined) throw section.invalid('token', 'and user/password are two ways to log in: set one');
  return {
    servers,
    name,
    subjectPrefix,
    replicas,
    duplicateWindowMs,
    maxAgeMs,
    maxBytes,
    user,
    password,
    token,
    publishTimeoutMs: section.duration('publish_timeout', '10s'),
  };
}

/** The dead-letter stream of `settings`' stream. */
export function deadLetterStreamName(settings: Pick<StreamSettings, 'name'>): string {
  return `${settings.name}_DEAD`;
}

/**
 * What `connect()` of the nats package takes for [stream]: its servers and credentials, reconnecting
 * for as long as the process lives, and for tls:// servers the trust and identity of [tls] and
 * [tls.stream] (lib/tls), read now.
 */
export function connectionOptions(config: Config, settings: StreamSettings, name: string): ConnectionOptions {
  const options: ConnectionOptions = {
    servers: settings.servers,
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    // Else every publish captures two stack traces in advance (its timeout error and context): about a fifth of the gateway's CPU on the stream route (bench/RESULTS.md).
    noAsyncTraces: true,
    user: settings.user,
    pass: settings.password,
    token: settings.token,
  };
  if (settings.servers.some((server) => server.startsWith('tls://'))) {
    if (!settings.servers.every((server) => server.startsWith('tls://'))) {
      throw new ConfigError(`${config.file}: [stream] servers mixes tls:// and nats:// URLs: a client would send its credentials in clear to some`);
    }
    const pem = loadClientTls(tlsSettings(config, SECTION)).pem;
    options.tls = { ca: pem?.ca.length ? pem.ca.join('\n') : undefined, cert: pem?.cert, key: pem?.key };
  }
  return options;
}
