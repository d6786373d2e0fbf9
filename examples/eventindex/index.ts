import { defineExample } from '../../scripts/quickstart/examples';

/** The ten modules of the ATLAS EventIndex monitoring (README.md), with their demo sources. */
export default defineExample({
  description: 'the ten modules of the ATLAS EventIndex monitoring',
  demo: () => require('./demo') as typeof import('./demo'),
  dashboards: () => require('./dashboards') as typeof import('./dashboards'),
});
