/**
 * The states of a module and what its light shows, with their codes, words, colours and the `*_slots`
 * counter each one sets: one place for every table keyed by a state.
 */
import { NO_SLOTS, type SlotCounts } from './argo';
import type { MONIT_COLLECTORS_STATUS } from '../schemas/kinds';

/** The four states of a module, best first. */
export const MODULE_STATES = ['available', 'degraded', 'unavailable', 'na'] as const;
export type ModuleState = (typeof MODULE_STATES)[number];

/** Numeric codes as in Nagios/ARGO (OK, WARNING, CRITICAL, UNKNOWN). */
export const STATE_CODES: Record<ModuleState, number> = { available: 0, degraded: 1, unavailable: 2, na: 3 };
export const STATE_WORDS: Record<ModuleState, string> = { available: 'Available', degraded: 'Degraded', unavailable: 'Unavailable', na: 'N/A' };

export function stateOfCode(code: number): ModuleState {
  return MODULE_STATES.find((state) => STATE_CODES[state] === code) ?? 'na';
}

/** What a light shows: the module's state, or a scheduled downtime, which has a colour of its own. */
export type ShownState = ModuleState | 'downtime';

/** What a light shows, in words (the page, the details page, the badges, the transition log). */
export const SHOWN_WORDS: Record<ShownState, string> = { ...STATE_WORDS, downtime: 'Downtime' };

/**
 * From best to worst: available < degraded < downtime < N/A < unavailable. A scheduled downtime was
 * announced, so it is less alarming than not knowing (N/A) and than a failure nobody planned.
 */
export const SHOWN_RANK: Record<ShownState, number> = { available: 0, degraded: 1, downtime: 2, na: 3, unavailable: 4 };

/** What the light shows: a scheduled downtime wins over the state. */
export function shownOf(state: ModuleState, downtime: boolean | undefined): ShownState {
  return downtime ? 'downtime' : state;
}

/** What the light showed for a stored document (`downtime` absent in documents written before downtimes). */
export function documentShown(point: { code: number; downtime?: boolean }): ShownState {
  return shownOf(stateOfCode(point.code), point.downtime);
}

/** One slot of this shown state, as the `*_slots` counters of its document say. */
export function countOf(state: ShownState): SlotCounts {
  return { ...NO_SLOTS, [state]: 1 };
}

/** The `*_slots` counter of each shown state in a status document (summed by downsampling). */
export const SLOT_FIELDS = {
  available: 'available_slots',
  degraded: 'degraded_slots',
  unavailable: 'unavailable_slots',
  na: 'na_slots',
  downtime: 'downtime_slots',
} as const satisfies Record<ShownState, keyof typeof MONIT_COLLECTORS_STATUS.fields>;

export type SlotField = (typeof SLOT_FIELDS)[ShownState];

/** The colour of each light (the page also says the state in words); a scheduled downtime has its own. */
export const LIGHT_COLOURS: Record<ShownState, string> = {
  available: '#1e9e3e',
  degraded: '#f2c200',
  unavailable: '#d32f2f',
  na: '#ffffff',
  downtime: '#2f6fd1',
};

/**
 * The badge colour of each state: the light's, except N/A, whose white light would leave white text
 * unreadable on a white page: shields' own grey for "inactive".
 */
export const BADGE_COLOURS: Record<ShownState, string> = { ...LIGHT_COLOURS, na: '#9f9f9f' };
