import type { RunningGateway } from '../../gateway/server';
import { startTestGateway } from './gateway';
import { startInfluxDB, type TestInfluxDB } from './services';

/** A private InfluxDB for one describe block (or file), started before its tests and stopped after them. */
export function useInfluxDB(): { readonly influx: TestInfluxDB } {
  let influx: TestInfluxDB | undefined;
  beforeAll(async () => {
    influx = await startInfluxDB();
  }, 600_000);
  afterAll(async () => {
    await influx?.stop();
  });
  return {
    get influx(): TestInfluxDB {
      if (!influx) throw new Error('InfluxDB not started yet: use it inside a test');
      return influx;
    },
  };
}

/**
 * A private InfluxDB and a gateway in front of it for one describe block (or file), started before
 * its tests and stopped after them. Read them through the getters once the tests run.
 */
export function useInfluxAndGateway(): { readonly influx: TestInfluxDB; readonly gateway: RunningGateway } {
  let influx: TestInfluxDB | undefined;
  let gateway: RunningGateway | undefined;
  beforeAll(async () => {
    influx = await startInfluxDB();
    gateway = await startTestGateway(influx.url);
  });
  afterAll(async () => {
    await gateway?.close();
    await influx?.stop();
  });
  return {
    get influx(): TestInfluxDB {
      if (!influx) throw new Error('InfluxDB not started yet: use it inside a test');
      return influx;
    },
    get gateway(): RunningGateway {
      if (!gateway) throw new Error('gateway not started yet: use it inside a test');
      return gateway;
    },
  };
}
