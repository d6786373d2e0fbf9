/**
 * The modules' states in CERN MONIT's service-availability format (monit-collectors/availability):
 * the keys MONIT documents (serviceid, service_status, availabilityinfo, availabilitydesc, contact,
 * webpage), so a route can send them to a tenant as they are. See README.md, "MONIT availability".
 */
import type { DocumentFactory } from '../lib/documents/document';
import type { MonitDocument } from '../lib/documents/types';
import { MONIT_COLLECTORS_AVAILABILITY } from '../schemas/kinds';
import type { ModuleDowntime } from './downtime';
import type { ModuleStatus } from './evaluate';
import type { ModuleState } from './states';
import type { ModuleRule } from './rules';
import type { StatusSettings } from './settings';
import { joinUrl } from '../lib/http/urls';

/** MONIT knows three values; N/A has none: MONIT shows a service 'unknown' when it hears nothing. */
export const MONIT_SERVICE_STATUS: Record<ModuleState, 'available' | 'degraded' | 'unavailable' | undefined> = {
  available: 'available',
  degraded: 'degraded',
  unavailable: 'unavailable',
  na: undefined,
};

/** The page a module's availability links to: its own, else its dashboard, else the [status] default. */
export function availabilityWebpage(rule: ModuleRule, settings: Pick<StatusSettings, 'grafanaUrl' | 'availability'>): string | undefined {
  if (rule.availability?.webpage) return rule.availability.webpage;
  if (settings.grafanaUrl && rule.dashboard) return joinUrl(settings.grafanaUrl, rule.dashboard);
  return settings.availability.webpage;
}

/**
 * One availability document per module that set availability_serviceid and is not N/A. MONIT has no
 * downtime value: under a scheduled downtime service_status stays as evaluated and availabilityinfo
 * starts with the downtime, so a reader of MONIT sees why the service is down.
 */
export function availabilityDocuments(
  documents: DocumentFactory,
  settings: Pick<StatusSettings, 'rules' | 'grafanaUrl' | 'availability'>,
  statuses: ModuleStatus[],
  downtimes: ReadonlyMap<string, ModuleDowntime> = new Map(),
): MonitDocument[] {
  const result: MonitDocument[] = [];
  for (const status of statuses) {
    const rule = settings.rules.find((one) => one.module === status.module);
    const serviceStatus = MONIT_SERVICE_STATUS[status.state];
    if (!rule?.availability || serviceStatus === undefined) continue;
    const downtime = downtimes.get(status.module);
    result.push(
      documents.build(
        MONIT_COLLECTORS_AVAILABILITY,
        { serviceid: rule.availability.serviceId },
        {
          service_status: serviceStatus,
          availabilityinfo: downtime ? `scheduled downtime: ${downtime.reason}; ${status.reason}` : status.reason,
          availabilitydesc: rule.availability.description,
          contact: rule.availability.contact ?? settings.availability.contact,
          webpage: availabilityWebpage(rule, settings),
        },
      ),
    );
  }
  return result;
}
