import { defineCollector, type CollectorContext } from '../../lib/run/collector';
import { ConfigError } from '../../lib/config/config';
import type { MonitDocument } from '../../lib/documents/types';
import { HADOOP_CONTENT_SUMMARY, HADOOP_HBASE_MASTER, HADOOP_NAMENODE, HADOOP_RESOURCEMANAGER } from '../../schemas/kinds';
import type { ClientTls } from '../../lib/tls/clientTls';
import { endpointTag, failedFields, readEndpoint, shownUrl, urlList } from './endpoint';
import { hbaseMasterFields, MASTER_BEANS_QUERY } from './hbase';
import { fetchBean, fetchBeans } from './jmx';
import { BEANS, nameNodeFields } from './namenode';
import { readResourceManager } from './resourcemanager';
import { activeNameNode, configuredPaths, readContentSummary, type WebHdfsRequest } from './webhdfs';

interface Request {
  timeoutMs: number;
  signal: AbortSignal;
  tls: ClientTls;
}

async function collectNameNode(context: CollectorContext, url: string, request: Request): Promise<MonitDocument> {
  const { fields, durationMs } = await readEndpoint(context, `NameNode ${shownUrl(url)}`, async () => {
    const [state, info, namesystem, status] = await Promise.all(
      [BEANS.state, BEANS.info, BEANS.namesystem, BEANS.status].map((bean) => fetchBean(url, bean, { source: 'NameNode', ...request })),
    );
    return nameNodeFields({ state, info, namesystem, status });
  });
  return context.documents.build(HADOOP_NAMENODE, { namenode: endpointTag(url) }, { ...fields, duration_ms: durationMs });
}

async function collectResourceManager(context: CollectorContext, url: string, request: Request): Promise<MonitDocument> {
  const { fields, durationMs } = await readEndpoint(context, `ResourceManager ${shownUrl(url)}`, () => readResourceManager(url, request));
  return context.documents.build(HADOOP_RESOURCEMANAGER, { resourcemanager: endpointTag(url) }, { ...fields, duration_ms: durationMs });
}

async function collectHBaseMaster(context: CollectorContext, url: string, request: Request): Promise<MonitDocument> {
  const { fields, durationMs } = await readEndpoint(context, `HBase master ${shownUrl(url)}`, async () => hbaseMasterFields(await fetchBeans(url, MASTER_BEANS_QUERY, { source: 'HBase master', ...request })));
  return context.documents.build(HADOOP_HBASE_MASTER, { hbase_master: endpointTag(url) }, { ...fields, duration_ms: durationMs });
}

/** One document per path: the active NameNode is found once, then every path is read from it; a path that fails fails alone. */
async function collectContentSummaries(context: CollectorContext, urls: string[], paths: string[], request: WebHdfsRequest): Promise<MonitDocument[]> {
  const started = performance.now();
  let nameNode: string;
  try {
    nameNode = await activeNameNode(urls, request);
  } catch (error) {
    const fields = failedFields(error);
    context.problem(`hadoop: WebHDFS (${fields.error}): ${fields.message}`);
    const durationMs = Math.round(performance.now() - started);
    return paths.map((path) => context.documents.build(HADOOP_CONTENT_SUMMARY, { path }, { ...fields, duration_ms: durationMs }));
  }
  return Promise.all(
    paths.map(async (path) => {
      const { fields, durationMs } = await readEndpoint(context, `WebHDFS ${path}`, () => readContentSummary(nameNode, path, request));
      return context.documents.build(HADOOP_CONTENT_SUMMARY, { path }, { ...fields, namenode: endpointTag(nameNode), duration_ms: durationMs });
    }),
  );
}

export default defineCollector({
  async collect(context) {
    const { section } = context;
    const file = context.config.file;
    const nameNodes = urlList(section, file, 'namenodes', 'http://namenode:9870');
    const resourceManagers = urlList(section, file, 'resourcemanagers', 'http://resourcemanager:8088');
    const hbaseMasters = urlList(section, file, 'hbase_masters', 'http://hbase-master:16010');
    const webHdfs = urlList(section, file, 'webhdfs', 'http://namenode:9870');
    if (!nameNodes.length && !resourceManagers.length && !hbaseMasters.length && !webHdfs.length) {
      throw new ConfigError(`${file}: [hadoop] needs at least one of namenodes, resourcemanagers, hbase_masters or webhdfs`);
    }
    const paths = webHdfs.length ? configuredPaths(section, file) : [];
    const user = section.optionalString('webhdfs_user');
    const timeoutMs = section.duration('timeout', '30s');
    // [tls.hadoop] for every daemon; a credential that cannot be loaded fails the run.
    const request: Request = { timeoutMs, signal: context.signal, tls: context.tls('hadoop') };
    const parts = await Promise.all([
      Promise.all(nameNodes.map((url) => collectNameNode(context, url, request))),
      Promise.all(resourceManagers.map((url) => collectResourceManager(context, url, request))),
      Promise.all(hbaseMasters.map((url) => collectHBaseMaster(context, url, request))),
      webHdfs.length ? collectContentSummaries(context, webHdfs, paths, { ...request, user }) : [],
    ]);
    return parts.flat();
  },
});
