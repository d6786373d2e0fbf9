/**
 * Availability and reliability as ARGO (the WLCG/EGI availability engine) computes them:
 *
 *   availability = up / (total − unknown)
 *   reliability  = up / (total − unknown − scheduled downtime)
 *
 * Up is available or degraded (ARGO's OK and WARNING); unknown is N/A and every slot without a status
 * document. A scheduled downtime counts against availability and is left out of reliability.
 */

/** Slots of each kind in a span; exactly one kind per slot (a downtime slot is only `downtime`). */
export interface SlotCounts {
  available: number;
  degraded: number;
  unavailable: number;
  na: number;
  downtime: number;
}

export const NO_SLOTS: SlotCounts = { available: 0, degraded: 0, unavailable: 0, na: 0, downtime: 0 };

export function addCounts(a: SlotCounts, b: SlotCounts): SlotCounts {
  return {
    available: a.available + b.available,
    degraded: a.degraded + b.degraded,
    unavailable: a.unavailable + b.unavailable,
    na: a.na + b.na,
    downtime: a.downtime + b.downtime,
  };
}

/**
 * ARGO's two figures from slot counts. Slots without a document are unknown, so only the counted
 * known slots matter: the denominators are up + unavailable (+ downtime for availability).
 * Null when the denominator is empty (everything unknown, or everything downtime for reliability).
 */
export function argoFigures(counts: SlotCounts): { availability: number | null; reliability: number | null } {
  const up = counts.available + counts.degraded;
  const availabilityBase = up + counts.unavailable + counts.downtime;
  const reliabilityBase = up + counts.unavailable;
  return {
    availability: availabilityBase === 0 ? null : up / availabilityBase,
    reliability: reliabilityBase === 0 ? null : up / reliabilityBase,
  };
}
