/**
 * `./run.sh stream-setup`: the one explicit way to change [stream]'s streams. Writers and gateways only
 * create a missing stream and keep an existing one as it is (each host starts with its own config);
 * this applies this host's [stream] settings, replicas lowered included, and says what it changed.
 */
import { connect } from 'nats';
import type { Config } from '../lib/config/config';
import { connectionOptions, deadLetterStreamName, streamSettings } from '../lib/stream/settings';
import { ensureStreams } from '../lib/stream/streams';

/** Exit 0 once the streams have [stream]'s settings; a refusal of JetStream is thrown (run.sh prints it, exit 1). */
export async function streamSetup(config: Config, print: (line: string) => void = (line) => process.stdout.write(`${line}\n`)): Promise<number> {
  const settings = streamSettings(config);
  // Run by hand: a server that does not answer is said at once, not waited for.
  const connection = await connect({ ...connectionOptions(config, settings, `stream-setup ${process.pid}`), maxReconnectAttempts: 0 });
  try {
    const outcome = await ensureStreams(await connection.jetstreamManager(), settings, { apply: true });
    for (const name of outcome.created) print(`created stream ${name}`);
    for (const difference of outcome.differences) print(`stream ${difference.stream}: ${difference.setting} ${difference.existing} -> ${difference.configured}`);
    const unchanged = [settings.name, deadLetterStreamName(settings)].filter((name) => !outcome.created.includes(name) && !outcome.updated.includes(name));
    for (const name of unchanged) print(`stream ${name} has [stream]'s settings already`);
    return 0;
  } finally {
    await connection.close();
  }
}
