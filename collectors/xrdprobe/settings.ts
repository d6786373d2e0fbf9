import { ConfigError, type Config } from '../../lib/config/config';
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
  };
}
