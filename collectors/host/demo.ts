import { defineDemo, packagedServer } from '../../scripts/quickstart/components';

/** node_exporter ([demo] node_exporter = true) at the first [host] endpoint. */
export default defineDemo({
  components: [
    packagedServer('node_exporter', 'node_exporter', (context) => {
      if (!context.config.section('demo').bool('node_exporter', false) || !context.config.hasSection('host')) return undefined;
      const first = context.config.section('host').list('endpoints')[0]?.replace(/^[^=]+=/, '');
      return first ? Number(new URL(first).port) : undefined;
    }),
  ],
});
