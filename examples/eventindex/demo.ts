import type { Config } from '../../lib/config/config';
import { defineDemo, packagedServer, type LocalComponent } from '../../scripts/quickstart/components';
import { connectionOf, SERVER_NAME, setUpDatabase } from './demo/database';
import { eventIndexRoutes, hadoopOverride } from './demo/routes';
import { tick } from './demo/tick';

/** The demo server's config, for the routes' switches (set when it starts). */
let serverConfig: Config | undefined;
const configOfServer = (): Config | undefined => serverConfig;

/** One tick of data once PostgreSQL is up, so that the quickstart's first runs already read some. */
const firstData: LocalComponent = {
  name: 'eventindex-data',
  phase: 'data',
  wanted: () => true,
  start: async (context) => {
    await tick(context.config);
    return 'bookkeeping rows and log lines added (the demo server adds more every minute)';
  },
  stop: async () => {},
  describe: async (context) => {
    const connection = connectionOf(context.config);
    return [
      `EventIndex example (examples/eventindex/README.md): ten modules on the status page; PostgreSQL 127.0.0.1:${connection.port} (data in ${connection.socketDirectory})`,
      `  break one: node dist/examples/eventindex/demo/switch.js fail MODULE (repair MODULE), then run its collector and ./run.sh status`,
    ];
  },
};

/**
 * The EventIndex example's demo sources: a PostgreSQL with the bookkeeping tables, its data and log
 * lines (a tick every minute in the demo server), and the answers of the demo HTTP server
 * (demo/routes.ts). Its switches (demo/switch.ts) break one module at a time.
 */
export default defineDemo({
  components: [
    packagedServer(SERVER_NAME, 'postgresql', (context) => connectionOf(context.config).port, (context) => setUpDatabase(context.config)),
    firstData,
  ],
  routes: eventIndexRoutes(configOfServer),
  override: hadoopOverride(configOfServer),
  onServerStart(config) {
    serverConfig = config;
    const once = (): void => {
      tick(config).catch((error: unknown) => process.stderr.write(`${new Date().toISOString()} eventindex demo: ${(error as Error).message}\n`));
    };
    once();
    setInterval(once, 60_000).unref();
  },
});
