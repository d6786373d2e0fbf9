import { defineSource } from '../source';
import { XROOTD_FILES_CLOSES, XROOTD_TRANSFERS_CACHE, XROOTD_TRANSFERS_REDIRECTIONS, XROOTD_TRANSFERS_SERVERS, XROOTD_TRANSFERS_TPC, XROOTD_TRANSFERS_TRANSFERS, XROOTD_TRANSFERS_USERS } from '../../schemas/kinds';

export default defineSource({
  description: 'XRootD federation transfer accounting from the detailed monitoring stream (queued by xrootd-detailed-receiver)',
  produces: [XROOTD_TRANSFERS_TRANSFERS, XROOTD_TRANSFERS_USERS, XROOTD_TRANSFERS_SERVERS, XROOTD_TRANSFERS_REDIRECTIONS, XROOTD_TRANSFERS_TPC, XROOTD_TRANSFERS_CACHE, XROOTD_FILES_CLOSES],
  // The redirections' topology may come from CRIC ([tls.cric], shared with panda).
  tlsSources: ['cric'],
  collector: () => require('./collector') as typeof import('./collector'),
  services: [
    {
      name: 'xrootd-detailed-receiver',
      description: 'UDP receiver of the XRootD detailed monitoring stream, queued on disk for xrootd-transfers',
      schedule: '@reboot',
      needsSection: 'xrootd-transfers',
      sections: ['xrootd-transfers'],
      serve: (config, args) => (require('./receiverService') as typeof import('./receiverService')).serve(config, args),
    },
  ],
  dashboard: () => require('./dashboard') as typeof import('./dashboard'),
  demo: () => require('./demo') as typeof import('./demo'),
});
