import { defineSource } from '../source';
import { WEB_PROBE } from '../../schemas/kinds';

export default defineSource({
  description: 'Web interfaces: probes configured URLs for status, latency, expected text and certificate expiry',
  produces: [WEB_PROBE],
  collector: () => require('./collector') as typeof import('./collector'),
  dashboard: () => require('./dashboard') as typeof import('./dashboard'),
  demo: () => require('./demo') as typeof import('./demo'),
});
