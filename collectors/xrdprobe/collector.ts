import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pLimit from 'p-limit';
import { defineCollector } from '../../lib/run/collector';
import type { MonitDocument } from '../../lib/documents/types';
import { probeDownload, probeUpload, uploadSource, type Direction, type ProbeOutcome, type ProbeTarget } from './probe';
import { probeSettings } from './settings';
import { XROOTD_PROBE } from '../../schemas/kinds';

/** Endpoints probed at once: a dead endpoint costs its own timeout, not everyone's. */
const CONCURRENCY = 4;

export default defineCollector({
  async collect(context) {
    const settings = probeSettings(context.config, os.hostname());
    if (settings.sourceSite === undefined) context.log.info(`no source site: ${settings.sourceSiteOrigin}; these probes stay out of the site-to-site matrix`);
    const workDir = path.join(context.stateDir, 'transfers');
    mkdirSync(workDir, { recursive: true });
    const sourceFile = settings.upload ? uploadSource(path.join(context.stateDir, 'upload.bin'), settings.uploadBytes) : '';
    // The children's grid identity ([tls.xrdprobe]); a missing or expired credential fails the run.
    const options = { timeoutMs: settings.timeoutMs, signal: context.signal, environment: context.tls('xrdprobe').environment };

    const documentOf = (target: ProbeTarget, direction: Direction, outcome: ProbeOutcome): MonitDocument => {
      if (!outcome.success) context.problem(`${direction} ${target.endpoint}: ${outcome.errorClass}: ${outcome.errorMessage}`);
      return context.documents.build(
        XROOTD_PROBE,
        { source_site: settings.sourceSite, endpoint: target.endpoint, site: settings.sites.get(target.endpoint), direction },
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
      settings.targets.map((target, index) =>
        limit(async () => {
          const documents = [documentOf(target, 'download', await probeDownload(target, path.join(workDir, `download-${index}.bin`), options))];
          if (settings.upload) documents.push(documentOf(target, 'upload', await probeUpload(target, sourceFile, settings.uploadPath, options)));
          return documents;
        }),
      ),
    );
    return perTarget.flat();
  },
});
