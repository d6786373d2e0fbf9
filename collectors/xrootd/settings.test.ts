import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Config, ConfigError } from '../../lib/config/config';
import { siteOf, xrootdSettings } from './settings';

const sample = readFileSync(path.join(__dirname, 'sample.cfg'), 'utf8');
const uncomment = (text: string): string => text.replace(/^;(?=\[|\w+ = )/gm, '');

describe('[xrootd] settings', () => {
  it('sample.cfg, uncommented, gives exactly the defaults', () => {
    expect(uncomment(sample)).toContain('\n[xrootd-receiver]\n');
    expect(xrootdSettings(Config.parse(uncomment(sample), 'sample.cfg'))).toEqual(xrootdSettings(Config.parse('', 'empty.cfg')));
  });

  it('the README shows sample.cfg as it is', () => {
    expect(readFileSync(path.join(__dirname, 'README.md'), 'utf8')).toContain(sample);
  });

  it('reads servers and sites, and names the key of a bad value', () => {
    const settings = xrootdSettings(Config.parse('[xrootd]\npull_servers = a.example.org:1094, b:1095\nsites = a.example.org:1094=SITE_A, b=SITE_B\n'));
    expect(settings.pullServers).toEqual(['a.example.org:1094', 'b:1095']);
    expect(siteOf(settings.sites, 'a.example.org:1094', 'REPORTED')).toBe('SITE_A');
    expect(siteOf(settings.sites, 'b:2000', 'REPORTED')).toBe('SITE_B');
    expect(siteOf(settings.sites, 'c:1094', 'REPORTED')).toBe('REPORTED');
    expect(siteOf(settings.sites, 'c:1094', undefined)).toBeUndefined();
    expect(() => xrootdSettings(Config.parse('[xrootd]\npull_servers = root://a:1094\n', 'x.cfg'))).toThrow(new ConfigError('x.cfg: [xrootd] pull_servers items must be host:port, got "root://a:1094"'));
    expect(() => xrootdSettings(Config.parse('[xrootd]\nsites = nosite\n', 'x.cfg'))).toThrow(/\[xrootd\] sites items must be name=SITE/);
    expect(() => xrootdSettings(Config.parse('[xrootd-receiver]\nlisten = 9931\n', 'x.cfg'))).toThrow(/\[xrootd-receiver\] listen must be host:port/);
  });

  it('bounds the queue in bytes; queue_max_packets, the key queue_max_bytes replaces, still works at 2048 bytes a packet, with a warning', () => {
    expect(xrootdSettings(Config.parse('', 'x.cfg'))).toMatchObject({ queueMaxBytes: 200_000 * 2048, warnings: [] });
    expect(xrootdSettings(Config.parse('[xrootd-receiver]\nqueue_max_bytes = 1000000\n', 'x.cfg'))).toMatchObject({ queueMaxBytes: 1_000_000, warnings: [] });
    expect(xrootdSettings(Config.parse('[xrootd-receiver]\nqueue_max_packets = 5000\n', 'x.cfg'))).toEqual(
      expect.objectContaining({
        queueMaxBytes: 5000 * 2048,
        warnings: ['x.cfg: [xrootd-receiver] queue_max_packets is replaced by queue_max_bytes: read as queue_max_bytes = 10240000 (5000 packets × 2048 bytes); rename the key'],
      }),
    );
    expect(xrootdSettings(Config.parse('[xrootd-receiver]\nqueue_max_packets = 5000\nqueue_max_bytes = 300\n', 'x.cfg'))).toEqual(
      expect.objectContaining({
        queueMaxBytes: 300,
        warnings: ['x.cfg: [xrootd-receiver] queue_max_packets is replaced by queue_max_bytes, which is set: queue_max_packets = 5000 is ignored; remove it'],
      }),
    );
    expect(() => xrootdSettings(Config.parse('[xrootd-receiver]\nqueue_max_packets = many\n', 'x.cfg'))).toThrow(/\[xrootd-receiver\] queue_max_packets must be a number/);
  });

  it('puts the queue under [paths] var unless queue_dir says otherwise', () => {
    expect(xrootdSettings(Config.parse('[paths]\nvar = /srv/monit/var\n')).queueDir).toBe('/srv/monit/var/queue/xrootd');
    expect(xrootdSettings(Config.parse('[xrootd]\nqueue_dir = /data/q\n')).queueDir).toBe('/data/q');
  });
});
