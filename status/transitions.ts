import path from 'node:path';
import got from 'got';
import { StateFile } from '../lib/state/stateFile';
import type { ModuleDowntime } from './downtime';
import type { ModuleStatus } from './evaluate';
import { type ModuleState, MODULE_STATES, shownOf, type ShownState, SHOWN_WORDS } from './states';

/** A module whose state differs from the previous run's. */
export interface Transition {
  module: string;
  title: string;
  from: ShownState;
  to: ShownState;
  reason: string;
  timeMs: number;
}

/** A module the previous runs did not know: what its light shows, and why (a downtime's reason under one). */
export interface FirstState {
  module: string;
  title: string;
  shown: ShownState;
  reason: string;
}

interface RememberedState {
  state: ModuleState;
  sinceMs: number;
  /** Under a scheduled downtime at that run; absent otherwise (files written before downtimes read the same). */
  downtime?: true;
}


/** The state of each module at the previous run, in the status job's state folder. */
function lastStatesFile(stateDir: string): StateFile<Map<string, RememberedState>> {
  return new StateFile(path.join(stateDir, 'last-states.json'), {
    initial: () => new Map(),
    // Entries that are not a known state with its time are dropped: the module starts afresh.
    parse: (parsed) => {
      const states = new Map<string, RememberedState>();
      if (parsed && typeof parsed === 'object') {
        for (const [module, value] of Object.entries(parsed as Record<string, unknown>)) {
          const remembered = value as Partial<RememberedState>;
          if (MODULE_STATES.includes(remembered.state as ModuleState) && typeof remembered.sinceMs === 'number') {
            states.set(module, { state: remembered.state as ModuleState, sinceMs: remembered.sinceMs, ...(remembered.downtime === true ? { downtime: true } : {}) });
          }
        }
      }
      return states;
    },
    serialize: (states) => Object.fromEntries(states),
  });
}

/** The state of each module at the previous run; empty on the first run (or when the file is unreadable). */
export function readLastStates(stateDir: string): Map<string, RememberedState> {
  try {
    return lastStatesFile(stateDir).read();
  } catch {
    return new Map();
  }
}

/**
 * Compares with the previous run, stores the new states (durably) and returns the changes, and the
 * modules seen for the first time. A module under a scheduled downtime shows `downtime`: entering and
 * leaving it are transitions (with the downtime's reason on entry); state changes under it are not.
 */
export function recordTransitions(
  stateDir: string,
  statuses: ModuleStatus[],
  timeMs: number,
  downtimes: ReadonlyMap<string, ModuleDowntime> = new Map(),
): { transitions: Transition[]; firstSeen: FirstState[] } {
  const previous = readLastStates(stateDir);
  const transitions: Transition[] = [];
  const firstSeen: FirstState[] = [];
  const next = new Map<string, RememberedState>();
  for (const status of statuses) {
    const before = previous.get(status.module);
    const downtime = downtimes.get(status.module);
    const now: RememberedState = { state: status.state, sinceMs: timeMs, ...(downtime ? { downtime: true } : {}) };
    const shown = shownOf(status.state, downtime !== undefined);
    const shownBefore = before ? shownOf(before.state, before.downtime) : undefined;
    if (!before) firstSeen.push({ module: status.module, title: status.title, shown, reason: downtime?.reason ?? status.reason });
    if (shownBefore && shownBefore !== shown) {
      transitions.push({ module: status.module, title: status.title, from: shownBefore, to: shown, reason: downtime?.reason ?? status.reason, timeMs });
    }
    next.set(status.module, before && shownBefore === shown ? { ...before, state: status.state } : now);
  }
  lastStatesFile(stateDir).write(next);
  return { transitions, firstSeen };
}

/** "Web: Downtime (kernel upgrade)": as the light shows it, so a later transition starts from it. */
export function describeFirstState(first: FirstState): string {
  return `${first.title}: ${SHOWN_WORDS[first.shown]} (${first.reason})`;
}

export function describeTransition(transition: Transition): string {
  return `${transition.title}: ${SHOWN_WORDS[transition.from]} → ${SHOWN_WORDS[transition.to]} (${transition.reason})`;
}

/**
 * POSTs one transition as JSON. `text` makes it readable by chat incoming webhooks (Mattermost, Slack);
 * the other keys are for programs.
 */
export async function postTransition(url: string, transition: Transition, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  await got.post(url, {
    json: {
      text: describeTransition(transition),
      module: transition.module,
      from: transition.from,
      to: transition.to,
      reason: transition.reason,
      time: new Date(transition.timeMs).toISOString(),
    },
    timeout: { request: timeoutMs },
    retry: { limit: 1 },
    signal,
  });
}
