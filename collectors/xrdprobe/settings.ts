import { ConfigError, type Config } from '../../lib/config/config';
import { parseSiteTable, siteOfHostName, UNKNOWN } from '../../lib/sites/siteTable';
import { parseTarget, type ProbeTarget } from './probe';

export const SECTION = 'xrdprobe';

/** The [xrdprobe] section. */
export interface ProbeSettings {
  targets: ProbeTarget[];
  timeoutMs: number;
  upload: boolean;
  /** Path on each endpoint written by the upload test. */
  uploadPath: string;
  uploadBytes: number;
  sites: Map<string, string>;
  /** The site the probes run from (the matrix's row), and where that name came from; undefined when nothing names it. */
  sourceSite: string | undefined;
  sourceSiteOrigin: string;
}

/** The domain table of the detailed stream, which names this host's site as it names that host's transfers (client_site). */
const CLIENT_SITES_SECTION = 'xrootd-transfers.sites';

/** [xrdprobe] source_site, else this host's name mapped through [xrootd-transfers.sites]. */
function sourceSiteOf(config: Config, hostname: string): { sourceSite: string | undefined; sourceSiteOrigin: string } {
  const configured = config.section(SECTION).optionalString('source_site')?.trim();
  if (configured !== undefined) {
    if (!/^\S+$/.test(configured)) throw new ConfigError(`${config.file}: [${SECTION}] source_site must be one site name without spaces, got "${configured}"`);
    return { sourceSite: configured, sourceSiteOrigin: `[${SECTION}] source_site` };
  }
  let site: string;
  try {
    site = siteOfHostName(parseSiteTable(config.section(CLIENT_SITES_SECTION).entries()), hostname).site;
  } catch (error) {
    throw new ConfigError(`${config.file}: [${CLIENT_SITES_SECTION}]: ${(error as Error).message}`);
  }
  if (site === UNKNOWN) return { sourceSite: undefined, sourceSiteOrigin: `neither [${SECTION}] source_site nor [${CLIENT_SITES_SECTION}] names the site of ${hostname}` };
  return { sourceSite: site, sourceSiteOrigin: `${hostname} in [${CLIENT_SITES_SECTION}]` };
}

export function probeSettings(config: Config, hostname: string): ProbeSettings {
  const section = config.section(SECTION);
  const targets = section.list('endpoints', []).map((url) => {
    try {
      return parseTarget(url);
    } catch (error) {
      throw new ConfigError(`${config.file}: [${SECTION}] endpoints: ${(error as Error).message}`);
    }
  });
  const uploadDir = section.string('upload_dir', '/monit-probe').replace(/\/+$/, '');
  if (!uploadDir.startsWith('/')) throw new ConfigError(`${config.file}: [${SECTION}] upload_dir must be an absolute path such as /monit-probe, got "${uploadDir}"`);
  return {
    targets,
    timeoutMs: section.duration('timeout', '60s'),
    upload: section.bool('upload', false),
    uploadPath: `${uploadDir}/probe-${hostname}.bin`,
    uploadBytes: Math.round(section.number('upload_size_mb', 10, { min: 0.001, max: 10_000 }) * 1e6),
    sites: config.section(SECTION).pairs('sites', 'host:port=SITE'),
    ...sourceSiteOf(config, hostname),
  };
}
