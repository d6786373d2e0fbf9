import { defineSource } from '../source';
import { XROOTD_PROBE } from '../../schemas/kinds';

export default defineSource({
  description: 'XRootD transfer probe: xrdcp of a known test file down (and optionally a generated one up) for each endpoint',
  produces: [XROOTD_PROBE],
  collector: () => require('./collector') as typeof import('./collector'),
  dashboard: () => require('./dashboard') as typeof import('./dashboard'),
  demo: () => require('./demo') as typeof import('./demo'),
});
