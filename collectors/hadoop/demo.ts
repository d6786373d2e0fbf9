import { defineDemo, type DemoRoute } from '../../scripts/quickstart/components';
import { answerText, jmxAnswer, readTestdata, type JmxDump, type Recording } from './recordings';

/** A /jmx route answering ?qry=NAME or a pattern like Hadoop's JMXJsonServlet, from a recorded dump. */
function jmxRoute(file: string): DemoRoute {
  return { contentType: 'application/json', body: (url) => jmxAnswer(readTestdata<JmxDump>(file), url.searchParams.get('qry')) };
}

/** The recorded routes that answer 200 (the demo server answers nothing else). */
function recordedRoutes(file: string, prefix = ''): Record<string, DemoRoute> {
  const recording = readTestdata<Recording>(file);
  return Object.fromEntries(
    Object.entries(recording)
      .filter(([, answer]) => (answer.status ?? 200) === 200)
      .map(([route, answer]) => [`${prefix}${route}`, { contentType: 'application/json', body: () => answerText(answer) }]),
  );
}

/**
 * The quickstart's Hadoop: a healthy active NameNode (/jmx), a healthy active ResourceManager
 * (/ws/v1/cluster/...), an HBase master under /hbase (/hbase/jmx) and the WebHDFS content summaries
 * of testdata/webhdfs.json, all recorded answers.
 */
export default defineDemo({
  routes: {
    '/jmx': jmxRoute('healthy.jmx.json'),
    '/hbase/jmx': jmxRoute('hbase-healthy.jmx.json'),
    ...recordedRoutes('resourcemanager-healthy.json'),
    ...recordedRoutes('webhdfs.json'),
  },
});
