/** The detailed receiver's queue lives under [paths] var by default, as state and spool do (collectors/xrootd's already did). */
import path from 'node:path';
import { Config } from '../../lib/config/config';
import { PROJECT_ROOT } from '../../lib/config/paths';
import { receiverOptions } from './receiver';

test('queue_dir defaults to <[paths] var>/queue/<source>, and an explicit queue_dir wins', () => {
  const other = path.join(PROJECT_ROOT, 'var', 'test', 'second-setup', 'var');
  const config = Config.parse(`[paths]\nvar = ${other}\n\n[xrootd-transfers]\n`, 'second.cfg');
  expect(receiverOptions(config).queueDir).toBe(path.join(other, 'queue', 'xrootd-transfers'));
  // A relative [paths] var is from the checkout, as for the state folders.
  const relative = Config.parse(`[paths]\nvar = var/second\n\n[xrootd-transfers]\n`, 'relative.cfg');
  expect(receiverOptions(relative).queueDir).toBe(path.join(PROJECT_ROOT, 'var', 'second', 'queue', 'xrootd-transfers'));
  const explicit = Config.parse(`[paths]\nvar = ${other}\n\n[xrootd-transfers]\nqueue_dir = /srv/queue\n`, 'explicit.cfg');
  expect(receiverOptions(explicit).queueDir).toBe('/srv/queue');
});
