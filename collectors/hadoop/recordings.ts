/** Recorded answers of Hadoop daemons (testdata/), served by the quickstart's demo and by the tests' loopback servers. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { COLLECTORS_DIR } from '../../lib/config/paths';

/** One recorded answer of a route: its status (default 200), a JSON body or a text, and a redirect's Location. */
export interface RecordedAnswer {
  status?: number;
  body?: unknown;
  text?: string;
  location?: string;
}

/** Answers by URL path, e.g. testdata/resourcemanager-healthy.json. */
export type Recording = Record<string, RecordedAnswer>;

/** A /jmx dump, as Hadoop's JMXJsonServlet answers /jmx without qry. */
export interface JmxDump {
  beans: Array<{ name: string }>;
}

export const TESTDATA = path.join(COLLECTORS_DIR, 'hadoop', 'testdata');

export function readTestdata<T>(file: string): T {
  return JSON.parse(readFileSync(path.join(TESTDATA, file), 'utf8')) as T;
}

/** `/jmx?qry=...` like JMXJsonServlet: the beans whose name matches the object name or JMX pattern (`*`, `?`); every bean without qry. */
export function jmxAnswer(dump: JmxDump, query: string | null): string {
  if (query === null) return JSON.stringify(dump, null, 2);
  const pattern = new RegExp(`^${query.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  return JSON.stringify({ beans: dump.beans.filter((bean) => pattern.test(bean.name)) }, null, 2);
}

/** The text of a recorded answer. */
export function answerText(answer: RecordedAnswer): string {
  return answer.text ?? JSON.stringify(answer.body, null, 2);
}
