import type { Config } from '../config/config';
import { type ClientTls, type IdentityKind, loadClientTls, tlsSettings } from '../tls/clientTls';
import type { Logger } from './log';

/** A credential a run presented, with a known expiry. */
export interface UsedCredential {
  source: string;
  /** "X.509 proxy of panda": what it is and whose, never its content (heartbeat and status reason). */
  name: string;
  expiresAtMs: number;
  warningMs: number;
}

/** What the heartbeat says about the credentials of a run. */
export interface CredentialSummary {
  credential: string;
  /** Whole seconds from `nowMs` to its expiry; negative once expired. */
  expiresInSeconds: number;
  /** Within its source's expiry_warning. */
  expiring: boolean;
}

/** "3d", "5h", "40m": a time left, rounded down, for logs and status reasons. */
export function approximateDuration(ms: number): string {
  if (ms >= 2 * 86_400_000) return `${Math.floor(ms / 86_400_000)}d`;
  if (ms >= 2 * 3_600_000) return `${Math.floor(ms / 3_600_000)}h`;
  return `${Math.max(0, Math.floor(ms / 60_000))}m`;
}

const IDENTITY_NAMES: Record<IdentityKind, string> = {
  none: 'credential',
  client_cert: 'client certificate',
  x509_proxy: 'X.509 proxy',
  bearer_token: 'bearer token',
  kerberos: 'Kerberos ticket',
};

/**
 * The TLS settings and credentials of one run: each source's are read and loaded once, when first asked
 * for (so a renewed proxy or token is picked up by the next run), and its warnings (a credential that
 * expires within its source's expiry_warning) are logged once. A load that failed (CredentialError) fails
 * again on every later ask of the same run.
 */
export class RunCredentials {
  private readonly loaded = new Map<string, { tls: ClientTls } | { error: unknown }>();
  private readonly used: UsedCredential[] = [];

  constructor(
    private readonly config: Config,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  tls(source: string): ClientTls {
    let entry = this.loaded.get(source);
    if (!entry) {
      try {
        entry = { tls: loadClientTls(tlsSettings(this.config, source), this.now()) };
      } catch (error) {
        entry = { error };
      }
      this.loaded.set(source, entry);
      if ('tls' in entry) this.record(source, entry.tls);
    }
    if ('error' in entry) throw entry.error;
    return entry.tls;
  }

  private record(source: string, tls: ClientTls): void {
    // The credential about to expire, a key file others can read: it still works, so the run goes on and
    // stays ok (the status turns the module degraded meanwhile).
    for (const warning of tls.warnings ?? []) this.log.warn(warning);
    const expiresAtMs = tls.credentialExpiresAtMs;
    if (expiresAtMs === undefined) return;
    this.used.push({ source, name: `${IDENTITY_NAMES[tls.settings.identity]} of ${source}`, expiresAtMs, warningMs: tls.settings.expiryWarningMs });
  }

  /**
   * The credential the heartbeat reports: of those within their warning, the one expiring first; when
   * none is, the one expiring first. Undefined when the run used no credential with a known expiry.
   */
  summary(nowMs: number = this.now()): CredentialSummary | undefined {
    const expiring = this.used.filter((one) => one.expiresAtMs - nowMs <= one.warningMs);
    const candidates = expiring.length ? expiring : this.used;
    if (!candidates.length) return undefined;
    const first = candidates.reduce((earliest, one) => (one.expiresAtMs < earliest.expiresAtMs ? one : earliest));
    return { credential: first.name, expiresInSeconds: Math.floor((first.expiresAtMs - nowMs) / 1000), expiring: expiring.length > 0 };
  }
}
