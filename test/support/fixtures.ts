import type { JetStreamManager, NatsConnection } from 'nats';
import type { RunningGateway } from '../../gateway/server';
import { startTestGateway } from './gateway';
import { startNatsCluster, type NatsCluster } from './nats';
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

/**
 * A cluster of `nodes` nats-servers and an InfluxDB for one test file, with a JetStream manager on a
 * connection to the cluster (reconnecting to any node); started before its tests, stopped after them.
 */
export function useStreamServers(nodes: 1 | 3): { readonly cluster: NatsCluster; readonly influx: TestInfluxDB; readonly manager: JetStreamManager } {
  let cluster: NatsCluster | undefined;
  let influx: TestInfluxDB | undefined;
  let connection: NatsConnection | undefined;
  let manager: JetStreamManager | undefined;
  beforeAll(async () => {
    [cluster, influx] = await Promise.all([startNatsCluster({ nodes }), startInfluxDB()]);
    connection = await cluster.connect();
    manager = await connection.jetstreamManager();
  }, 600_000);
  afterAll(async () => {
    await connection?.close();
    await Promise.all([cluster?.stop(), influx?.stop()]);
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the stream servers are not started yet: use them inside a test');
    return value;
  };
  return {
    get cluster() {
      return started(cluster);
    },
    get influx() {
      return started(influx);
    },
    get manager() {
      return started(manager);
    },
  };
}
