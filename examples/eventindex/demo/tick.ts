/**
 * One tick of the demo's data: the bookkeeping rows and the log lines. The demo server ticks every
 * minute; the quickstart once after starting PostgreSQL; `switch.js` right after turning a switch.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../../../lib/config/config';
import { connectionOf, tickDatabase } from './database';
import { tickLogs } from './logs';

/** Minutes since the epoch: rows and lines differ from one tick to the next, the same on every machine. */
const tickNumber = (): number => Math.floor(Date.now() / 60_000);

/**
 * Writes the log lines, and the rows when the demo's PostgreSQL runs (the demo server starts before
 * it: its first tick has no database yet). Returns whether the rows were written.
 */
export async function tick(config: Config): Promise<boolean> {
  const number = tickNumber();
  tickLogs(config, number);
  if (!existsSync(path.join(connectionOf(config).socketDirectory, 'server.pid'))) return false;
  await tickDatabase(config, number);
  return true;
}
