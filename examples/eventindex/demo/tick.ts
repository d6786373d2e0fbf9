/**
 * One tick of the demo's data: the bookkeeping rows and the log lines. The demo server ticks every
 * minute; the quickstart once after starting PostgreSQL; `switch.js` right after turning a switch.
 */
import type { Config } from '../../../lib/config/config';
import { tickDatabase } from './database';
import { tickLogs } from './logs';

/** Minutes since the epoch: rows and lines differ from one tick to the next, the same on every machine. */
const tickNumber = (): number => Math.floor(Date.now() / 60_000);

/** The log lines are written even when PostgreSQL is down (the demo server starts before it). */
export async function tick(config: Config): Promise<void> {
  const number = tickNumber();
  tickLogs(config, number);
  await tickDatabase(config, number);
}
