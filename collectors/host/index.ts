import { defineSource } from '../source';
import { HOST_FILESYSTEM, HOST_NETWORK, HOST_SYSTEM } from '../../schemas/kinds';

export default defineSource({
  description: 'Host health from node_exporter endpoints: CPU %, load, memory, disk per mount, network B/s',
  produces: [HOST_SYSTEM, HOST_FILESYSTEM, HOST_NETWORK],
  collector: () => require('./collector') as typeof import('./collector'),
  dashboard: () => require('./dashboard') as typeof import('./dashboard'),
  demo: () => require('./demo') as typeof import('./demo'),
});
