import { getMaxListeners, setMaxListeners } from 'node:events';
import pLimit from 'p-limit';
import { defineCollector } from '../../lib/run/collector';
import { type Config, ConfigError, type ConfigSection } from '../../lib/config/config';
import { probe, statusAccepted, type ProbeTarget } from './probe';
import { checkSharedMeasurements } from '../../lib/documents/declared';
import { PRODUCER, readValues, readValueSettings, refuseValueKeysInDefaults, type ValueSettings } from './values';
import { buildDeclared } from '../../lib/documents/declared';
import { schemaRegistry, type SchemaRegistry } from '../../lib/documents/schemas';
import type { MonitDocument } from '../../lib/documents/types';
import type { CollectorContext } from '../../lib/run/collector';
import { withoutCredentials } from '../../lib/http/credentials';
import { tlsSettings, type ClientTls } from '../../lib/tls/clientTls';
import { WEB_PROBE } from '../../schemas/kinds';

const SECTION = 'web';

/** "200-399, 401" → [[200, 399], [401, 401]]. */
export function parseStatusRanges(section: ConfigSection, fallback: string): Array<[number, number]> {
  const where = `[${section.name}] expect_status`;
  return section.list('expect_status', [fallback]).map((item): [number, number] => {
    const match = /^(\d{3})(?:\s*-\s*(\d{3}))?$/.exec(item);
    if (!match) throw new ConfigError(`${where}: "${item}" is not a status such as 200 or a range such as 200-399`);
    const low = Number(match[1]);
    const high = Number(match[2] ?? match[1]);
    if (low > high) throw new ConfigError(`${where}: the range "${item}" is empty`);
    return [low, high];
  });
}

type ProbeSettings = Omit<ProbeTarget, 'name' | 'url' | 'shownUrl'>;

/** Settings that [web] gives every probe and a [web.<name>] section may override. */
function probeSettings(section: ConfigSection, defaults: ProbeSettings): ProbeSettings {
  return {
    timeoutMs: section.has('timeout') ? section.duration('timeout') : defaults.timeoutMs,
    expectStatus: section.has('expect_status') ? parseStatusRanges(section, '') : defaults.expectStatus,
    // `expect_text =` (empty) in a probe's section turns off a text check set in [web].
    expectText: section.keys().includes('expect_text') ? section.optionalString('expect_text') : defaults.expectText,
    verifyTls: section.has('verify_tls') ? section.bool('verify_tls') : defaults.verifyTls,
    followRedirects: section.has('follow_redirects') ? section.bool('follow_redirects') : defaults.followRedirects,
    maxBodyBytes: section.has('max_body_bytes') ? section.int('max_body_bytes', undefined, { min: 1 }) : defaults.maxBodyBytes,
  };
}

/** A probe, and the JSON values its answer gives when [web.<name>] declares fields. */
export interface WebTarget extends ProbeTarget {
  values?: ValueSettings;
}

export interface WebSettings {
  concurrency: number;
  targets: WebTarget[];
}

/**
 * [web] urls (probes named by their URL) and one probe per [web.<name>] section; value declarations
 * are checked against `registry` (schemas/web/<measurement>.json).
 */
export function readSettings(config: Config, registry: SchemaRegistry = schemaRegistry()): WebSettings {
  const section = config.section(SECTION);
  const defaults: ProbeSettings = {
    timeoutMs: section.duration('timeout', '10s'),
    expectStatus: parseStatusRanges(section, '200-399'),
    expectText: section.optionalString('expect_text'),
    verifyTls: section.bool('verify_tls', true),
    followRedirects: section.bool('follow_redirects', true),
    maxBodyBytes: section.int('max_body_bytes', 10 * 1024 * 1024, { min: 1 }),
  };
  refuseValueKeysInDefaults(config, SECTION);
  const targets: WebTarget[] = section.list('urls', []).map((url) => {
    const shownUrl = withoutCredentials(checkedUrl(section, 'urls', url));
    return { name: shownUrl, url, shownUrl, ...defaults };
  });
  const probeSections = config.sectionsUnder(SECTION);
  for (const probeSection of probeSections) {
    // ini reads [web.ei.cern] as nested sections: the empty [web.ei] above it is not a probe.
    const isParentOnly = probeSection.keys().length === 0 && probeSections.some((other) => other.name.startsWith(`${probeSection.name}.`));
    if (isParentOnly) continue;
    const name = probeSection.name.slice(SECTION.length + 1);
    const url = checkedUrl(probeSection, 'url', probeSection.url('url'));
    const values = readValueSettings(probeSection, name, registry);
    targets.push({ name, url, shownUrl: withoutCredentials(url), ...probeSettings(probeSection, defaults), ...(values && { values }) });
  }
  checkSharedMeasurements(PRODUCER, targets.flatMap((target) => (target.values ? [{ section: `${SECTION}.${target.name}`, ...target.values }] : [])));
  const names = targets.map((target) => target.name);
  const repeated = names.find((name, index) => names.indexOf(name) !== index);
  if (repeated) throw new ConfigError(`[${SECTION}]: the probe "${repeated}" is configured twice`);
  refuseUnverifiedIdentity(config, targets);
  return { concurrency: section.int('concurrency', 8, { min: 1 }), targets };
}

/** An identity ([tls.web]) is never presented to a server whose certificate is not checked: anyone on the path could pose as it. */
function refuseUnverifiedIdentity(config: Config, targets: ProbeTarget[]): void {
  const unverified = targets.filter((target) => !target.verifyTls);
  if (!unverified.length) return;
  const settings = tlsSettings(config, SECTION, {});
  if (settings.identity === 'none') return;
  const names = unverified.map((target) => `"${target.name}"`).join(', ');
  throw new ConfigError(
    `${config.file}: [${SECTION}] verify_tls = false for the probe${unverified.length > 1 ? 's' : ''} ${names}, with ${settings.origin?.('identity') ?? `identity = ${settings.identity}`}: ` +
      'the credential would go to a server whose certificate is not checked; check it (verify_tls = true, with its CA in ca_dir or ca_file) or remove identity from [tls.web]',
  );
}

function checkedUrl(section: ConfigSection, key: string, text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(`[${section.name}] ${key}: "${text}" is not a URL such as https://portal.example.org/`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(`[${section.name}] ${key}: "${text}" must be http or https`);
  return text;
}

/** One probe's documents: web/probe, and web/<measurement> when values were read. */
async function probeTarget(context: CollectorContext, registry: SchemaRegistry, target: WebTarget, tls: ClientTls): Promise<MonitDocument[]> {
  let result = await probe(target, context.signal, tls);
  const label = target.name === target.shownUrl ? target.shownUrl : `${target.name} (${target.shownUrl})`;
  // Values are read from an answer with an expected status only: an error page says nothing about them.
  const answered = result.body !== undefined && result.status !== undefined && statusAccepted(result.status, target.expectStatus);
  const values = target.values && answered ? readValues(target.values, result.body ?? '') : undefined;
  if (values?.notJson) {
    if (result.up === 1) result = { ...result, up: 0, errorClass: 'malformed', detail: values.notJson };
    else context.problem(`${label}: ${values.notJson}`);
  }
  if (result.up === 0) context.problem(`${label}: ${result.errorClass}: ${result.detail ?? ''}`);
  const documents: MonitDocument[] = [];
  let valuesMissing = values?.missing;
  if (target.values && values) {
    for (const problem of values.problems) context.problem(`${label}: ${problem}`);
    const { measurement } = target.values;
    if (Object.keys(values.fields).length) {
      try {
        documents.push(buildDeclared(context.documents, registry, PRODUCER, measurement, { probe: target.name, url: target.shownUrl }, values.fields));
      } catch (error) {
        context.problem(`${label}: ${PRODUCER}/${measurement} not sent: ${(error as Error).message}`);
        valuesMissing = target.values.fields.size;
      }
    }
  }
  documents.unshift(context.documents.build(WEB_PROBE, { name: target.name, url: target.shownUrl }, {
    up: result.up,
    error_class: result.errorClass,
    status: result.status,
    latency_ms: result.latencyMs,
    body_match: result.bodyMatch,
    cert_days_left: result.certDaysLeft,
    values_missing: valuesMissing,
  }));
  return documents;
}

/** Probes every target. `registry` is the project's schemas/ (a test may add its own types). */
export async function collectWeb(context: CollectorContext, registry: SchemaRegistry = schemaRegistry()): Promise<MonitDocument[]> {
  const { concurrency, targets } = readSettings(context.config, registry);
  if (!targets.length) throw new ConfigError(`[${SECTION}]: nothing to probe: set urls, or add [${SECTION}.<name>] sections with a url`);
  const limit = pLimit(concurrency);
  // Each request in flight listens on the job's signal; more than Node's default 10 is expected here.
  setMaxListeners(Math.max(getMaxListeners(context.signal), concurrency + 10), context.signal);
  // [tls.web]: one trust and identity for every probe; a credential that cannot be loaded fails the run.
  const tls = context.tls('web');
  // Over plain http nothing protects a token: such a probe goes without one (a client certificate needs TLS
  // anyway). One object for them all, so they share its agents (and their secure context) as https probes do.
  const plainHttpTls: ClientTls = tls.authorization ? { ...tls, authorization: undefined } : tls;
  const perTarget = await Promise.all(targets.map((target) => limit(() => probeTarget(context, registry, target, /^http:/i.test(target.url) ? plainHttpTls : tls))));
  return perTarget.flat();
}

export default defineCollector({
  collect: (context) => collectWeb(context),
});
