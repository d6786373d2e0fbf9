import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { FixtureServer } from './fixtureServer';

const TESTDATA = path.join(__dirname, '..', 'testdata');

export const recorded = (name: string): string => readFileSync(path.join(TESTDATA, name), 'utf8');

/** The paths the fixture server answers CRIC's other descriptions and the placement on, with recorded answers. */
export const DESCRIPTION_ROUTES = {
  '/cric-sites': 'cric-sites.json',
  '/cric-ddm': 'cric-ddmendpoints.json',
  '/federations': 'wlcg-federations.json',
  '/placement': 'placement-rucio.json',
} as const;

/** Serves the recorded site, DDM, federation and placement answers. */
export function serveDescriptions(server: FixtureServer): void {
  for (const [route, file] of Object.entries(DESCRIPTION_ROUTES)) server.routes.set(route, { body: recorded(file) });
}

/** Before a test: the recorded ATLAS-shaped PanDA v1 and CRIC answers and the other descriptions, counts cleared. */
export function serveRecordedAtlas(server: FixtureServer): void {
  server.routes.clear();
  server.requests.clear();
  server.routes.set('/panda', { body: recorded('panda-v1-atlas.json') });
  server.routes.set('/cric', { body: recorded('cric-pandaqueues.json') });
  serveDescriptions(server);
}

/** A [panda] section reading every source from the fixture server at `baseUrl`, with `extra` keys. */
export function pandaSection(baseUrl: string, extra = ''): string {
  return `[panda]\nurl = ${baseUrl}/panda\ncric_url = ${baseUrl}/cric\ntimeout = 2s\ncric_timeout = 2s\n${descriptionKeys(baseUrl)}${extra}\n`;
}

/**
 * The [panda] keys pointing panda's other sources at the fixture server (without them panda asks the real
 * CRIC and WLCG CRIC). `placement` false leaves placement_url out (no placement data).
 */
export function descriptionKeys(baseUrl: string, options: { placement?: boolean } = {}): string {
  const keys = [`cric_site_url = ${baseUrl}/cric-sites`, `cric_ddm_url = ${baseUrl}/cric-ddm`, `federations_url = ${baseUrl}/federations`];
  if (options.placement !== false) keys.push(`placement_url = ${baseUrl}/placement`);
  return `${keys.join('\n')}\n`;
}
