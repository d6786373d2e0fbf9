import { defineCollector, type CollectorContext } from '../../lib/run/collector';
import { ConfigError } from '../../lib/config/config';
import type { MonitDocument } from '../../lib/documents/types';
import { SourceFailure } from '../../lib/documents/failures';
import { HADOOP_NAMENODE } from '../../schemas/kinds';
import { fetchBean } from './jmx';
import type { ClientTls } from '../../lib/tls/clientTls';
import { BEANS, nameNodeFields } from './namenode';

/** The tag of a NameNode: host:port of its web address (bounded: one per configured NameNode). */
function nameNodeTag(url: string): string {
  return new URL(url).host;
}

async function collectNameNode(context: CollectorContext, url: string, timeoutMs: number, tls: ClientTls): Promise<MonitDocument> {
  const started = performance.now();
  const tags = { namenode: nameNodeTag(url) };
  try {
    const [state, info, namesystem, status] = await Promise.all(
      [BEANS.state, BEANS.info, BEANS.namesystem, BEANS.status].map((bean) => fetchBean(url, bean, timeoutMs, context.signal, tls)),
    );
    const fields = nameNodeFields({ state, info, namesystem, status });
    return context.documents.build(HADOOP_NAMENODE, tags, { ...fields, duration_ms: Math.round(performance.now() - started) });
  } catch (error) {
    const failure = error instanceof SourceFailure ? error : new SourceFailure('malformed', (error as Error).message);
    context.problem(`hadoop: NameNode ${url} (${failure.failureClass}): ${failure.message}`);
    return context.documents.build(HADOOP_NAMENODE, tags, {
      up: 0,
      error: failure.failureClass,
      message: failure.message.slice(0, 300),
      duration_ms: Math.round(performance.now() - started),
    });
  }
}

export default defineCollector({
  async collect(context) {
    const urls = context.section.list('namenodes').map((text, index) => {
      try {
        const url = new URL(text);
        if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http(s)');
      } catch {
        throw new ConfigError(`${context.config.file}: [hadoop] namenodes: item ${index + 1} must be an http(s) URL such as http://namenode:9870, got "${text}"`);
      }
      return text;
    });
    const hosts = urls.map(nameNodeTag);
    const repeated = hosts.find((host, index) => hosts.indexOf(host) !== index);
    if (repeated) throw new ConfigError(`${context.config.file}: [hadoop] namenodes: ${repeated} is listed twice`);
    const timeoutMs = context.section.duration('timeout', '30s');
    // [tls.hadoop] for every NameNode; a credential that cannot be loaded fails the run.
    const tls = context.tls('hadoop');
    return Promise.all(urls.map((url) => collectNameNode(context, url, timeoutMs, tls)));
  },
});
