import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../lib/config/paths';
import { median, ratio } from './support';

/**
 * What ./run.sh adds to a job that does nothing, against a bare `node -e 0`, measured alternately in
 * the same run (cron starts these all day). The no-op job is `heartbeat --dry-run`: config, lock,
 * slot, runner and validation, but no network. Target: under 3x.
 */
const RUNS = Number(process.env.BENCH_RUNS ?? 30);

function timeCommand(command: string, args: string[]): number {
  const started = process.hrtime.bigint();
  const result = spawnSync(command, args, { stdio: 'ignore' });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.status}`);
  return Number(process.hrtime.bigint() - started) / 1e6;
}

const varDir = mkdtempSync(path.join(PROJECT_ROOT, 'var', 'bench-run-'));
const configFile = path.join(varDir, 'config.cfg');
writeFileSync(configFile, `[paths]\nvar = ${varDir}\n[monit]\nurl = http://127.0.0.1:9/\ntoken = x\n[influxdb]\nurl = http://127.0.0.1:9\n`);
const bare: number[] = [];
const job: number[] = [];
for (let run = 0; run < RUNS; run += 1) {
  bare.push(timeCommand(process.execPath, ['-e', '0']));
  job.push(timeCommand(path.join(PROJECT_ROOT, 'run.sh'), ['heartbeat', '--dry-run', '--config', configFile]));
}
console.log(`runs: ${RUNS} each, alternating`);
console.log(`node -e 0:                       median ${median(bare).toFixed(1)} ms (baseline)`);
console.log(`./run.sh heartbeat --dry-run:    median ${median(job).toFixed(1)} ms`);
console.log(`ratio:                           ${ratio(median(job), median(bare))} (target < 3x)`);
