import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { badgeJson, badgeSvg, brokenRulesBadge, unknownModuleBadge } from './badges';
import type { ModuleSnapshot } from './snapshot';
import type { ShownState } from './states';

function module(shown: ShownState, title: string, availability30d: number | null): ModuleSnapshot {
  const state = shown === 'downtime' ? 'unavailable' : shown;
  const windows = { '24h': null, '7d': null, '30d': availability30d, '90d': null };
  return {
    module: 'web',
    title,
    state,
    shown,
    downtime: shown === 'downtime' ? { reason: 'intervention' } : null,
    stateText: state,
    code: 0,
    reason: 'x',
    evaluatedMs: null,
    lastDataMs: null,
    sinceMs: null,
    availability: windows,
    reliability: windows,
    timeline: [],
    history: [],
    incidents: [],
    dashboardUrl: null,
    detailsUrl: '/status/module/web',
  };
}

interface ParsedSvg {
  svg: { title: string; g: Array<{ rect?: Array<{ '@_fill': string }> }>; '@_aria-label': string };
}

/** The badge as XML: its title (label: message), and the fill of its right-hand rectangle. */
function parseSvg(svg: string): { title: string; ariaLabel: string; messageColour: string } {
  expect(XMLValidator.validate(svg)).toBe(true);
  const parsed = new XMLParser({ ignoreAttributes: false, isArray: (name) => name === 'g' || name === 'rect' }).parse(svg) as ParsedSvg;
  const rects = parsed.svg.g.flatMap((group) => group.rect ?? []);
  // flat style: the label's rectangle, the message's, then the gradient over both.
  return { title: String(parsed.svg.title), ariaLabel: parsed.svg['@_aria-label'], messageColour: rects[1]['@_fill'] };
}

// Written here, not imported: the colours the page's lights use, and the grey chosen for N/A.
const EXPECTED = [
  { shown: 'available', word: 'Available', colour: '#1e9e3e' },
  { shown: 'degraded', word: 'Degraded', colour: '#f2c200' },
  { shown: 'unavailable', word: 'Unavailable', colour: '#d32f2f' },
  { shown: 'na', word: 'N/A', colour: '#9f9f9f' },
  { shown: 'downtime', word: 'Downtime', colour: '#2f6fd1' },
] as const;

test.each(EXPECTED)('the $shown badge is valid SVG with the title, "$word", the 30-day availability and $colour', ({ shown, word, colour }) => {
  // 0.99937 shows as 99.93%: rounded down, never up to a figure the module did not reach.
  const badge = parseSvg(badgeSvg(module(shown, 'Web portal', 0.99937)));
  expect(badge.title).toBe(`Web portal: ${word} · 99.93% (30d)`);
  expect(badge.ariaLabel).toBe(badge.title);
  expect(badge.messageColour).toBe(colour);
});

test('a title with <&"> is escaped: the SVG parses and reads the title as written', () => {
  const title = `Web <b> & "front" 'end'`;
  const svg = badgeSvg(module('available', title, 1));
  expect(svg).not.toContain('<b>');
  expect(parseSvg(svg).title).toBe(`${title}: Available · 100% (30d)`);
  expect(JSON.parse(badgeJson(module('available', title, 1)))).toMatchObject({ label: title });
});

test('a module without a known state in 30 days shows only its state: no figure', () => {
  expect(parseSvg(badgeSvg(module('na', 'Search', null))).title).toBe('Search: N/A');
  expect(JSON.parse(badgeJson(module('na', 'Search', null)))).toMatchObject({ message: 'N/A' });
});

// shields.io's endpoint schema (services/endpoint-common.js in badges/shields): any other key is refused.
const SHIELDS_KEYS = ['schemaVersion', 'label', 'message', 'color', 'labelColor', 'isError', 'namedLogo', 'logoSvg', 'logoColor', 'logoWidth', 'logoPosition', 'style', 'cacheSeconds'];

test.each(EXPECTED)('the $shown JSON badge follows shields.io\'s endpoint schema, with the same text and colour as the SVG', ({ shown, word, colour }) => {
  const json = JSON.parse(badgeJson(module(shown, 'Web portal', 0.5))) as Record<string, unknown>;
  expect(json).toEqual({ schemaVersion: 1, label: 'Web portal', message: `${word} · 50.00% (30d)`, color: colour });
  for (const key of Object.keys(json)) expect(SHIELDS_KEYS).toContain(key);
});

test('while the rules cannot be read the badge says so, with the file and line when the message has them', () => {
  const located = parseSvg(brokenRulesBadge("config.cfg:42: [status.module.web] degraded: unknown function 'median'", 'svg'));
  expect(located.title).toBe('status: rules broken (config.cfg:42)');
  expect(located.messageColour).toBe('#d32f2f');
  expect(parseSvg(brokenRulesBadge('config.cfg: [status] default_rules: cannot read rules.cfg', 'svg')).title).toBe('status: rules broken (config.cfg)');
  expect(parseSvg(brokenRulesBadge('cannot read /nowhere/rules.cfg: ENOENT', 'svg')).title).toBe('status: rules broken');
  const json = JSON.parse(brokenRulesBadge('config.cfg:42: bad', 'json')) as Record<string, unknown>;
  expect(json).toEqual({ schemaVersion: 1, label: 'status', message: 'rules broken (config.cfg:42)', color: '#d32f2f', isError: true });
  for (const key of Object.keys(json)) expect(SHIELDS_KEYS).toContain(key);
});

test('the badge of an unknown module names it, escaped in the SVG, grey as N/A', () => {
  const svg = unknownModuleBadge('<web> & "co"', 'svg');
  expect(svg).not.toContain('<web>');
  const parsed = parseSvg(svg);
  expect(parsed.title).toBe('status: unknown module <web> & "co"');
  expect(parsed.messageColour).toBe('#9f9f9f');
  const json = JSON.parse(unknownModuleBadge('wbe', 'json')) as Record<string, unknown>;
  expect(json).toEqual({ schemaVersion: 1, label: 'status', message: 'unknown module wbe', color: '#9f9f9f', isError: true });
  for (const key of Object.keys(json)) expect(SHIELDS_KEYS).toContain(key);
});
