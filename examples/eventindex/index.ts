import { defineExample } from '../../scripts/quickstart/examples';

/** The ten modules of the ATLAS EventIndex monitoring (README.md), with their demo sources. */
export default defineExample({
  description: 'the ten modules of the ATLAS EventIndex monitoring',
  // Loaded only when the quickstart starts the demo or the generator writes the dashboards.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  demo: () => require('./demo') as typeof import('./demo'),
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  dashboards: () => require('./dashboards') as typeof import('./dashboards'),
});
