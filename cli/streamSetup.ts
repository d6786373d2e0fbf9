/**
 * `./run.sh stream-setup`: the one explicit way to change [stream]'s streams and their durable
 * consumers. Writers, gateways, receivers and collectors only create what is missing and keep what
 * exists as it is (each host starts with its own config); this applies this host's settings, replicas
 * lowered included, and says what it changed.
 */
import { connect, type NatsConnection } from 'nats';
import { natsFailureClass } from '../lib/stream/failures';
import { receiverOptions } from '../collectors/xrootd-transfers/receiver';
import { xrootdSettings } from '../collectors/xrootd/settings';
import type { Config } from '../lib/config/config';
import { PACKET_SECTIONS, packetConsumer, packetStreamConfig, type PacketKind } from '../lib/stream/packetStreams';
import { connectionOptions, streamSettings, type StreamSettings } from '../lib/stream/settings';
import { ensureConsumers, ensureStreams, streamConfigs, streamExists, type WantedConsumer } from '../lib/stream/streams';
import { writerSettings } from '../writer/settings';
import { writerConsumer } from '../writer/writer';

/** The packet consumers this host's config uses (`queue = stream`), with its stream_ack_wait. */
function packetConsumers(config: Config, settings: StreamSettings): WantedConsumer[] {
  const ackWaits: Array<[PacketKind, number | undefined]> = [
    ['summary', config.hasSection(PACKET_SECTIONS.summary) ? routedAckWait(xrootdSettings(config)) : undefined],
    ['detailed', config.hasSection(PACKET_SECTIONS.detailed) ? routedAckWait(receiverOptions(config)) : undefined],
  ];
  return ackWaits.filter((entry): entry is [PacketKind, number] => entry[1] !== undefined).map(([kind, ackWaitMs]) => packetConsumer(settings, kind, ackWaitMs));
}

const routedAckWait = (section: { route: string; streamAckWaitMs: number }): number | undefined => (section.route === 'stream' ? section.streamAckWaitMs : undefined);

/**
 * Exit 0 once the streams and consumers have this host's settings; servers that cannot be reached
 * (named, with the failure class of collectors/jetstream) or a refusal of JetStream are thrown (run.sh
 * prints it, exit 1). The packet stream `<name>_XROOTD` is created only where [xrootd] or
 * [xrootd-transfers] has `queue = stream`, and updated wherever it exists; the writers' consumer only
 * where [writer] is, the packet consumers only where their section has `queue = stream`.
 */
export async function streamSetup(config: Config, print: (line: string) => void = (line) => process.stdout.write(`${line}\n`)): Promise<number> {
  const settings = streamSettings(config);
  const consumers = packetConsumers(config, settings);
  if (config.hasSection('writer')) consumers.unshift(writerConsumer(settings, writerSettings(config)));
  // Run by hand: a server that does not answer is said at once, not waited for.
  let connection: NatsConnection;
  try {
    connection = await connect({ ...connectionOptions(config, settings, `stream-setup ${process.pid}`), maxReconnectAttempts: 0 });
  } catch (error) {
    throw new Error(`stream-setup: cannot connect to [stream] servers = ${settings.servers.join(', ')} (${natsFailureClass(error)}): ${(error as Error).message}`);
  }
  try {
    const manager = await connection.jetstreamManager();
    const streams = streamConfigs(settings);
    const packetStream = packetStreamConfig(settings);
    const packetsUsed = consumers.some((consumer) => consumer.stream === packetStream.name);
    if (packetsUsed || (await streamExists(manager, packetStream.name))) streams.push(packetStream);

    const streamOutcome = await ensureStreams(manager, settings, { apply: true, streams });
    for (const name of streamOutcome.created) print(`created stream ${name}`);
    for (const difference of streamOutcome.differences) print(`stream ${difference.stream}: ${difference.setting} ${difference.existing} -> ${difference.configured}`);
    for (const { name } of streams) {
      if (!streamOutcome.created.includes(name) && !streamOutcome.updated.includes(name)) print(`stream ${name} has [stream]'s settings already`);
    }

    const consumerOutcome = await ensureConsumers(manager, settings, consumers, { apply: true });
    const named = (consumer: WantedConsumer): string => `${consumer.stream}/${consumer.name}`;
    for (const consumer of consumers.filter((wanted) => consumerOutcome.created.includes(named(wanted)))) print(`created consumer ${consumer.name} of ${consumer.stream}`);
    for (const difference of consumerOutcome.differences) print(`consumer ${difference.consumer} of ${difference.stream}: ${difference.setting} ${difference.existing} -> ${difference.configured}`);
    for (const consumer of consumers) {
      const name = named(consumer);
      if (!consumerOutcome.created.includes(name) && !consumerOutcome.updated.includes(name)) print(`consumer ${consumer.name} of ${consumer.stream} has this host's settings already`);
    }
    return 0;
  } finally {
    await connection.close();
  }
}
