import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pLimit from 'p-limit';
import { defineCollector } from '../../lib/collector';
import { ConfigError } from '../../lib/config';
import type { MonitDocument } from '../../lib/types';
import { pairs } from '../xrootd/settings';
import { parseTarget, probeDownload, probeUpload, uploadSource, type Direction, type ProbeOutcome, type ProbeTarget } from './probe';

const PRODUCER = 'xrootd';
const SECTION = 'xrdprobe';
/** Endpoints probed at once: a dead endpoint costs its own timeout, not everyone's. */
const CONCURRENCY = 4;

export default defineCollector({
  description: 'XRootD transfer probe: xrdcp of a known test file down (and optionally a generated one up) for each endpoint',
  async collect(context) {
    const section = context.section;
    const targets: ProbeTarget[] = section.list('endpoints', []).map((url) => {
      try {
        return parseTarget(url);
      } catch (error) {
        throw new ConfigError(`${context.config.file}: [${SECTION}] endpoints: ${(error as Error).message}`);
      }
    });
    const timeoutMs = section.duration('timeout', '60s');
    const upload = section.bool('upload', false);
    const uploadDir = section.string('upload_dir', '/monit-probe').replace(/\/+$/, '');
    const uploadBytes = Math.round(section.number('upload_size_mb', 10, { min: 0.001, max: 10_000 }) * 1e6);
    const sites = pairs(context.config, SECTION, 'sites');

    const workDir = path.join(context.stateDir, 'transfers');
    mkdirSync(workDir, { recursive: true });
    const sourceFile = upload ? uploadSource(path.join(context.stateDir, 'upload.bin'), uploadBytes) : '';
    const remoteName = `${uploadDir}/probe-${os.hostname()}.bin`;
    const options = { timeoutMs, signal: context.signal };

    const documentOf = (target: ProbeTarget, direction: Direction, outcome: ProbeOutcome): MonitDocument => {
      if (!outcome.success) context.problem(`${direction} ${target.endpoint}: ${outcome.errorClass}: ${outcome.errorMessage}`);
      return context.documents.build(
        PRODUCER,
        'probe',
        { endpoint: target.endpoint, site: sites.get(target.endpoint), direction },
        {
          success: outcome.success,
          duration_ms: outcome.durationMs,
          throughput_mbps: outcome.throughputMBps,
          size_bytes: outcome.sizeBytes,
          error_class: outcome.errorClass,
          error_message: outcome.errorMessage,
        },
      );
    };

    const limit = pLimit(CONCURRENCY);
    const perTarget = await Promise.all(
      targets.map((target, index) =>
        limit(async () => {
          const documents = [documentOf(target, 'download', await probeDownload(target, path.join(workDir, `download-${index}.bin`), options))];
          if (upload) documents.push(documentOf(target, 'upload', await probeUpload(target, sourceFile, remoteName, options)));
          return documents;
        }),
      ),
    );
    return perTarget.flat();
  },
});
