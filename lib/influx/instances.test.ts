/** The routing table of [influxdb] and [influxdb.NAME]: which instance holds a producer, and the config errors. */
import { Config } from '../config/config';
import { InfluxClient } from './influxdb';
import { clientOfDatabase, clientOfProducer, influxInstances } from './instances';

const DEFAULT = '[influxdb]\nurl = http://127.0.0.1:8186\ntimeout = 20s\n';

function instancesOf(text: string): ReturnType<typeof influxInstances> {
  return influxInstances(Config.parse(DEFAULT + text, 'routing.cfg'));
}

test('each producer is held by the instance listing it, every other by [influxdb]', () => {
  const instances = instancesOf(
    '[influxdb.atlas]\nurl = https://atlas.example.org:8086\nusername = writer\npassword = secret\nproducers = panda, xrootd\ntimeout = 2m\n' + '[influxdb.ops]\nurl = http://127.0.0.1:8187\nproducers = monit-collectors\n',
  );
  expect(instances.all.map((instance) => [instance.name, instance.section, instance.settings.url, instance.producers])).toEqual([
    ['default', 'influxdb', 'http://127.0.0.1:8186', []],
    ['atlas', 'influxdb.atlas', 'https://atlas.example.org:8086', ['panda', 'xrootd']],
    ['ops', 'influxdb.ops', 'http://127.0.0.1:8187', ['monit-collectors']],
  ]);
  expect(instances.forProducer('panda').name).toBe('atlas');
  expect(instances.forProducer('xrootd').name).toBe('atlas');
  expect(instances.forProducer('monit-collectors').name).toBe('ops');
  expect(instances.forProducer('web').name).toBe('default');
  // A producer's database, spelt with _ for -, is on the same instance.
  expect(instances.forDatabase('monit_production_monit_collectors').name).toBe('ops');
  expect(instances.forDatabase('monit_dashboards').name).toBe('default');
  expect(instances.byName('atlas')?.settings).toMatchObject({ username: 'writer', password: 'secret', timeoutMs: 120_000 });
  // Unset, the timeout is [influxdb]'s; the retentions are [influxdb]'s for every instance.
  expect(instances.byName('ops')?.settings.timeoutMs).toBe(20_000);
  expect(instances.byName('ops')?.settings.durations).toEqual(instances.default.settings.durations);
  // One client per instance, pointing at its URL.
  expect(instances.forProducer('panda').client).toBe(instances.byName('atlas')?.client);
  expect(instances.forProducer('panda').client.url).toBe('https://atlas.example.org:8086');
  expect(clientOfProducer(instances, 'web').url).toBe('http://127.0.0.1:8186');
  expect(clientOfDatabase(instances, 'monit_production_panda').url).toBe('https://atlas.example.org:8086');
});

test('a lone client holds every producer; a config without [influxdb.NAME] has the default instance only', () => {
  const lone = new InfluxClient('http://127.0.0.1:1');
  expect(clientOfProducer(lone, 'panda')).toBe(lone);
  expect(clientOfDatabase(lone, 'monit_production_panda')).toBe(lone);
  const instances = instancesOf('');
  expect(instances.all.map((instance) => instance.name)).toEqual(['default']);
  expect(instances.forProducer('panda')).toBe(instances.default);
});

describe('config errors name the section and key', () => {
  test.each([
    ['a producer listed by two instances', '[influxdb.a]\nurl = http://a:1\nproducers = panda\n[influxdb.b]\nurl = http://b:1\nproducers = web, panda\n', 'routing.cfg: [influxdb.a] producers and [influxdb.b] producers both list producer "panda": a producer\'s data lives on one instance'],
    [
      'two spellings of one database on two instances',
      '[influxdb.a]\nurl = http://a:1\nproducers = my-app\n[influxdb.b]\nurl = http://b:1\nproducers = my_app\n',
      'routing.cfg: [influxdb.a] producers and [influxdb.b] producers both list producers "my-app" and "my_app" (one database, monit_production_my_app)',
    ],
    ['a producer twice in one section', '[influxdb.a]\nurl = http://a:1\nproducers = panda, panda\n', 'routing.cfg: [influxdb.a] producers lists producer "panda"'],
    ['an unknown key', '[influxdb.a]\nurl = http://a:1\nproducers = panda\nraw_duration = 7d\n', 'routing.cfg: [influxdb.a] raw_duration is not a setting of an InfluxDB instance (known: url, username, password, timeout, producers)'],
    ['no producers', '[influxdb.a]\nurl = http://a:1\n', 'routing.cfg: [influxdb.a] producers is missing: list the producers whose data this instance holds'],
    ['empty producers', '[influxdb.a]\nurl = http://a:1\nproducers =\n', 'routing.cfg: [influxdb.a] producers is missing'],
    ['no url', '[influxdb.a]\nproducers = panda\n', 'routing.cfg: [influxdb.a] url is missing: the URL of this InfluxDB instance'],
    ['a url that is not http', '[influxdb.a]\nurl = udp://a:1\nproducers = panda\n', 'routing.cfg: [influxdb.a] url must be an http or https URL, got "udp://a:1"'],
    ['a producer name the envelope refuses', '[influxdb.a]\nurl = http://a:1\nproducers = pan da\n', 'routing.cfg: [influxdb.a] producers: "pan da" is not a producer name'],
    ['an instance called default', '[influxdb.default]\nurl = http://a:1\nproducers = panda\n', 'routing.cfg: [influxdb.default]: an instance name is lower-case letters, digits, - and _'],
    ['an instance name with upper case', '[influxdb.Atlas]\nurl = http://a:1\nproducers = panda\n', 'routing.cfg: [influxdb.Atlas]: an instance name is lower-case letters'],
    ['a bad timeout', '[influxdb.a]\nurl = http://a:1\nproducers = panda\ntimeout = soon\n', 'routing.cfg: [influxdb.a] timeout'],
    ['no [influxdb] url', '', 'routing.cfg: [influxdb] url is missing'],
  ])('%s', (_, text, message) => {
    const config = Config.parse((text === '' ? '[influxdb]\n' : DEFAULT) + text, 'routing.cfg');
    expect(() => influxInstances(config)).toThrow(message);
  });
});
