/**
 * MONIT availability documents: the per-module keys, their [status] defaults, every start-up error,
 * and the documents built from each state. The store round trip is in availability.e2e.test.ts.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Config } from '../lib/config/config';
import { PROJECT_ROOT } from '../lib/config/paths';
import { DocumentFactory } from '../lib/documents/document';
import { SchemaRegistry, schemaRegistry } from '../lib/documents/schemas';
import { availabilityDocuments } from './availability';
import { moduleStatus } from './evaluate';
import type { ModuleState } from './states';
import { RuleError } from './rules';
import { loadStatusSettings, type StatusSettings } from './settings';

const SLOT = Date.UTC(2026, 11, 6, 3, 40);

/** A module with no rule keys beyond what it needs; `extra` adds lines to its section. */
function module(name: string, extra = ''): string {
  return `[status.module.${name}]\ncollector = none\nmeasurement = demo/probe\nfields = up\nunavailable = up == 0\nunavailable_reason = down\n${extra}`;
}

/** Written to disk so that errors can name the line. */
function settingsFrom(text: string): { settings: StatusSettings; file: string } {
  const base = path.join(PROJECT_ROOT, 'var', 'test');
  mkdirSync(base, { recursive: true });
  const file = path.join(mkdtempSync(path.join(base, 'status-availability-')), 'config.cfg');
  writeFileSync(file, `[status]\ndefault_rules =\n${text}`);
  return { settings: loadStatusSettings(Config.load(file), { registry: new SchemaRegistry([]) }), file };
}

function settingsError(text: string): string {
  try {
    settingsFrom(text);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected an error');
}

describe('settings', () => {
  test('a module opts in with availability_serviceid; its other keys are its own', () => {
    const { settings } = settingsFrom(
      module('web', 'availability_serviceid = web-frontends\navailability_desc = "Web front ends; probed every 10 minutes"\navailability_contact = web-team@example.org\navailability_webpage = https://web.example.org/\n') +
        module('plain'),
    );
    expect(settings.rules.map((rule) => [rule.module, rule.availability])).toEqual([
      ['web', { serviceId: 'web-frontends', description: 'Web front ends; probed every 10 minutes', contact: 'web-team@example.org', webpage: 'https://web.example.org/' }],
      ['plain', undefined],
    ]);
    expect(settings.availability).toEqual({ contact: undefined, webpage: undefined });
  });

  test('[status] holds the defaults of contact and webpage', () => {
    const { settings } = settingsFrom(`availability_contact = ops@example.org\navailability_webpage = https://status.example.org/status\n${module('web', 'availability_serviceid = web\n')}`);
    expect(settings.availability).toEqual({ contact: 'ops@example.org', webpage: 'https://status.example.org/status' });
  });

  test('bad values name the file, line, module and key', () => {
    const spaced = settingsError(module('web', 'availability_serviceid = web front\n'));
    expect(spaced).toMatch(/config\.cfg:9: \[status\.module\.web\] availability_serviceid: must be one word without spaces, backslashes or control characters, got "web front"$/);
    expect(settingsError(module('web', 'availability_serviceid = web\\\n'))).toMatch(/\[status\.module\.web\] availability_serviceid: must be one word/);
    expect(settingsError(module('web', 'availability_serviceid = web\navailability_webpage = web.example.org\n'))).toMatch(
      /config\.cfg:10: \[status\.module\.web\] availability_webpage: must be a URL such as https:\/\/example\.org\/service, got "web\.example\.org"$/,
    );
    expect(settingsError(module('web', 'availability_serviceid = web\navailability_webpage = ftp://web.example.org/\n'))).toMatch(/availability_webpage: must be an http or https URL/);
    expect(settingsError(`availability_webpage = status page\n${module('web')}`)).toMatch(/\[status\] availability_webpage must be a URL/);
  });

  test('an availability key without availability_serviceid is refused: it would send nothing', () => {
    expect(settingsError(module('web', 'availability_contact = ops@example.org\n'))).toMatch(
      /config\.cfg:9: \[status\.module\.web\] availability_contact: is set, but availability_serviceid is not: set it to send MONIT availability documents for this module$/,
    );
  });

  test('two modules with one service id are refused, naming both', () => {
    const message = settingsError(module('web', 'availability_serviceid = shared\n') + module('sql', 'availability_serviceid = shared\n'));
    expect(message).toMatch(/config\.cfg:16: \[status\.module\.sql\] availability_serviceid: "shared" is already the service id of module web; give each module its own$/);
    expect(() => settingsFrom(module('web', 'availability_serviceid = shared\n') + module('sql', 'availability_serviceid = shared\n'))).toThrow(RuleError);
  });
});

describe('documents', () => {
  const factory = new DocumentFactory({ slotMs: SLOT, host: 'status-host', registry: schemaRegistry() });
  const { settings } = settingsFrom(
    `grafana_url = http://grafana.example:3000/\navailability_contact = ops@example.org\navailability_webpage = https://status.example.org/\n` +
      module('green', 'availability_serviceid = svc-green\navailability_desc = Green service\ndashboard = d/green\n') +
      module('yellow', 'availability_serviceid = svc-yellow\navailability_contact = yellow@example.org\n') +
      module('red', 'availability_serviceid = svc-red\navailability_webpage = https://red.example.org/\ndashboard = d/red\n') +
      module('white', 'availability_serviceid = svc-white\n') +
      module('plain', 'dashboard = d/plain\n'),
  );
  const states: Record<string, [ModuleState, string]> = {
    green: ['available', 'all checks pass'],
    yellow: ['degraded', 'slow: 900 ms'],
    red: ['unavailable', 'down since 03:12'],
    white: ['na', 'no heartbeat from collector white in the last 30m'],
    plain: ['unavailable', 'down'],
  };
  const statuses = settings.rules.map((rule) => moduleStatus(rule, states[rule.module][0], states[rule.module][1], SLOT));
  const documents = availabilityDocuments(factory, settings, statuses);

  test("one per opted-in module that is not N/A, with exactly MONIT's keys and the envelope", () => {
    expect(documents.map((document) => document.serviceid)).toEqual(['svc-green', 'svc-yellow', 'svc-red']);
    expect(documents[0]).toEqual({
      producer: 'monit-collectors',
      type: 'availability',
      timestamp: SLOT,
      host: 'status-host',
      type_prefix: 'raw',
      _id: expect.stringMatching(/^[0-9a-f]{32}$/),
      idb_tags: ['serviceid'],
      idb_fields: ['service_status', 'availabilityinfo', 'availabilitydesc', 'contact', 'webpage'],
      serviceid: 'svc-green',
      service_status: 'available',
      availabilityinfo: 'all checks pass',
      availabilitydesc: 'Green service',
      contact: 'ops@example.org',
      webpage: 'http://grafana.example:3000/d/green',
    });
  });

  test('state, reason, contact and webpage of each, with the fallbacks in order', () => {
    const pick = (index: number) => {
      const { service_status, availabilityinfo, availabilitydesc, contact, webpage } = documents[index];
      return { service_status, availabilityinfo, availabilitydesc, contact, webpage };
    };
    // yellow: its own contact; no desc; no dashboard, so the [status] webpage.
    expect(pick(1)).toEqual({ service_status: 'degraded', availabilityinfo: 'slow: 900 ms', availabilitydesc: undefined, contact: 'yellow@example.org', webpage: 'https://status.example.org/' });
    // red: its own webpage wins over its dashboard.
    expect(pick(2)).toEqual({ service_status: 'unavailable', availabilityinfo: 'down since 03:12', availabilitydesc: undefined, contact: 'ops@example.org', webpage: 'https://red.example.org/' });
    expect(documents[1].idb_fields).toEqual(['service_status', 'availabilityinfo', 'contact', 'webpage']);
  });

  test('a rerun of the slot gives the same documents (same _id), another slot another _id', () => {
    expect(availabilityDocuments(new DocumentFactory({ slotMs: SLOT, host: 'status-host' }), settings, statuses)).toEqual(documents);
    const next = availabilityDocuments(new DocumentFactory({ slotMs: SLOT + 600e3, host: 'status-host' }), settings, statuses);
    expect(next.map((document) => document._id)).not.toContain(documents[0]._id);
    expect(next.map((document) => document.timestamp)).toEqual([SLOT + 600e3, SLOT + 600e3, SLOT + 600e3]);
  });

  test('no setting at all: no webpage, no contact keys', () => {
    const bare = settingsFrom(module('only', 'availability_serviceid = only\n')).settings;
    const [document] = availabilityDocuments(factory, bare, [moduleStatus(bare.rules[0], 'available', 'fine', SLOT)]);
    expect(Object.keys(document).filter((key) => !['producer', 'type', 'timestamp', 'host', 'type_prefix', '_id', 'idb_tags', 'idb_fields'].includes(key))).toEqual([
      'serviceid',
      'service_status',
      'availabilityinfo',
    ]);
  });
});
