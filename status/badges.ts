import { makeBadge } from 'badge-maker';
import { formatAvailability } from './page';
import type { ModuleSnapshot } from './snapshot';
import { BADGE_COLOURS, SHOWN_WORDS } from './states';

/** What the badge of a module says: its title, its state in words and its 30-day availability. */
export function badgeContent(module: ModuleSnapshot): { label: string; message: string; color: string } {
  const availability = module.availability['30d'];
  const word = SHOWN_WORDS[module.shown];
  return {
    label: module.title,
    // Without a known state in 30 days there is no figure to show ("n/a" beside "N/A" says nothing).
    message: availability === null ? word : `${word} · ${formatAvailability(availability)} (30d)`,
    color: BADGE_COLOURS[module.shown],
  };
}

/** An SVG badge of a module: its state and 30-day availability, in shields' flat style. */
export function badgeSvg(module: ModuleSnapshot): string {
  return makeBadge(badgeContent(module));
}

/**
 * The same as JSON in shields.io's endpoint schema (https://shields.io/badges/endpoint-badge), so that
 * `https://img.shields.io/endpoint?url=...` draws it. Shields refuses keys outside its schema: the
 * module's figures are in /status.json and its details JSON.
 */
export function badgeJson(module: ModuleSnapshot): string {
  return JSON.stringify({ schemaVersion: 1, ...badgeContent(module) });
}

/** What a badge says while the status rules cannot be read. */
const BROKEN = { label: 'status', message: 'rules broken', color: BADGE_COLOURS.unavailable };

/** A badge that answers an error: SVG, or shields' endpoint JSON marked as an error. */
function errorBadge(content: { label: string; message: string; color: string }, format: 'svg' | 'json'): string {
  return format === 'svg' ? makeBadge(content) : JSON.stringify({ schemaVersion: 1, ...content, isError: true });
}

/** The badge of a module the rules do not have (a typo, a module renamed): an embedded image says so rather than showing broken. */
export function unknownModuleBadge(module: string, format: 'svg' | 'json'): string {
  return errorBadge({ label: 'status', message: `unknown module ${module}`, color: BADGE_COLOURS.na }, format);
}

/**
 * The badge shown while the rules cannot be read: an embedded image shows that rather than a broken
 * image. `problem` is the loader's message; its leading `file:line` or `file` (when it has one) goes on the badge.
 */
export function brokenRulesBadge(problem: string, format: 'svg' | 'json'): string {
  const place = /^([^\s:]+(?::\d+)?):\s/.exec(problem)?.[1];
  const content = { ...BROKEN, message: place ? `${BROKEN.message} (${place})` : BROKEN.message };
  return errorBadge(content, format);
}
