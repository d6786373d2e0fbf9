import { defineSource } from '../source';
import { XROOTD_OSS_SPACE, XROOTD_SUMMARY } from '../../schemas/kinds';

export default defineSource({
  description: 'XRootD summary statistics: xrd.report packets queued by xrootd-receiver, and `xrdfs query stats` of pull_servers',
  produces: [XROOTD_SUMMARY, XROOTD_OSS_SPACE],
  collector: () => require('./collector') as typeof import('./collector'),
  services: [
    {
      name: 'xrootd-receiver',
      description: 'UDP receiver of xrd.report summary packets, queued on disk for the xrootd collector',
      schedule: '@reboot',
      needsSection: 'xrootd-receiver',
      sections: ['xrootd'],
      serve: (config, args) => (require('./receiverService') as typeof import('./receiverService')).serve(config, args),
    },
  ],
  dashboard: () => require('./dashboard') as typeof import('./dashboard'),
  demo: () => require('./demo') as typeof import('./demo'),
});
