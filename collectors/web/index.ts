import { defineSource } from '../source';
import { WEB_PROBE } from '../../schemas/kinds';

export default defineSource({
  description: 'Web interfaces: probes configured URLs for status, latency, expected text, certificate expiry and values of JSON answers',
  produces: [WEB_PROBE],
  collector: () => require('./collector') as typeof import('./collector'),
  dashboard: () => require('./dashboard') as typeof import('./dashboard'),
  demo: () => require('./demo') as typeof import('./demo'),
});
