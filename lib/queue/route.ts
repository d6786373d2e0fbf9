import { hostname } from 'node:os';
import type { ConfigSection } from '../config/config';

/** Where a receiver's datagrams go: its local disk queue only (one host), or on through it to the XRootD packet stream. */
export type QueueRoute = 'local' | 'stream';

/** `queue = local | stream` of a collector's section (local when absent). */
export function queueRoute(section: ConfigSection): QueueRoute {
  const value = section.string('queue', 'local');
  if (value !== 'local' && value !== 'stream') throw section.invalid('queue', `must be local (the receiver's disk queue, read on this host) or stream (the [stream] servers, read by one accounting job), got "${value}"`);
  return value;
}

/** `receiver_name`: names a receiver's subject and messages, unique among the receivers of a stream (default `<host name>-<listen port>`). */
export function receiverName(section: ConfigSection, listenPort: number): string {
  const name = section.string('receiver_name', `${hostname()}-${listenPort}`);
  if (!/^[A-Za-z0-9_.:-]+$/.test(name)) throw section.invalid('receiver_name', `must be letters, digits and _ . : -, got "${name}"`);
  return name;
}
