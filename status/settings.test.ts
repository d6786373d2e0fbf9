import { Config } from '../lib/config/config';
import { SchemaRegistry } from '../lib/documents/schemas';
import { loadStatusSettings } from './settings';

const registry = new SchemaRegistry([]);

test('defaults: static page under [paths] var, no webhook, no Grafana links, 10-minute period', () => {
  const settings = loadStatusSettings(Config.parse('[paths]\nvar = /srv/monit/var\n[status]\ndefault_rules =\n', 'a.cfg'), { registry });
  expect(settings).toMatchObject({
    rules: [],
    title: 'Service status',
    retentionPolicy: 'raw',
    periodMs: 600e3,
    staleAfterMs: 1800e3,
    refreshSeconds: 60,
    htmlFile: '/srv/monit/var/www/status.html',
    jsonFile: '/srv/monit/var/www/status.json',
  });
  expect(settings.webhookUrl).toBeUndefined();
  expect(settings.grafanaUrl).toBeUndefined();
});

test('empty file keys switch the static copies off; bad values name the key', () => {
  const settings = loadStatusSettings(Config.parse('[status]\ndefault_rules =\nhtml_file =\njson_file =\n', 'b.cfg'), { registry });
  expect(settings.htmlFile).toBeUndefined();
  expect(settings.jsonFile).toBeUndefined();
  expect(() => loadStatusSettings(Config.parse('[status]\ndefault_rules =\nwebhook_url = hook\n', 'c.cfg'), { registry })).toThrow('c.cfg: [status] webhook_url must be a URL');
  expect(() => loadStatusSettings(Config.parse('[status]\ndefault_rules =\nrefresh_seconds = 1\n', 'd.cfg'), { registry })).toThrow('[status] refresh_seconds must be at least 5');
});
