import { firstErrorLine, runXrdCommand, type XrdCommandOptions } from '../../lib/xrootd/clientTools';

/** Asks one server for its summary report: `xrdfs HOST:PORT query stats a` (the same XML it pushes). */
export async function pullReport(server: string, options: XrdCommandOptions): Promise<string> {
  const result = await runXrdCommand('xrdfs', [server, 'query', 'stats', 'a'], options);
  if (result.timedOut) throw new Error(`xrdfs ${server} query stats: no answer within ${options.timeoutMs} ms`);
  if (result.aborted) throw new Error(`xrdfs ${server} query stats: stopped at the job's deadline`);
  if (result.exitCode !== 0) {
    throw new Error(`xrdfs ${server} query stats failed (exit ${result.exitCode}): ${firstErrorLine(result.stderr) || 'no message'}`);
  }
  return result.stdout;
}
