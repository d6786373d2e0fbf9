import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Config } from '../../lib/config/config';
import { PROJECT_ROOT } from '../../lib/config/paths';
import { sources } from '../../collectors/source';
import { generatedFiles, staleFiles } from './generate';
import { parseSample, readSample } from '../../lib/config/sample';
import { withGeneratedBlocks } from './generators/readmes';

test('every generated file is up to date (else: npm run generate)', () => {
  expect(staleFiles()).toEqual([]);
});

test('the generated files cover the kinds, config.cfg.example, every collector README and the dashboards', () => {
  const files = [...generatedFiles().keys()].map((file) => path.relative(PROJECT_ROOT, file));
  expect(files).toEqual(expect.arrayContaining(['schemas/kinds.ts', 'config.cfg.example', 'dashboards/json/monit-overview.json', ...sources().map((source) => `collectors/${source.name}/README.md`)]));
});

test('config.cfg.example is a config every job can start with: each collector has its section, with the quickstart values', () => {
  const config = Config.parse(readFileSync(path.join(PROJECT_ROOT, 'config.cfg.example'), 'utf8'), 'config.cfg.example');
  // A collector whose sample.cfg comments out its own section (;[jetstream]) is opt-in, like [writer]: no section until uncommented.
  const optIn = (name: string, folder: string): boolean => readSample(path.join(folder, 'sample.cfg')).sections.some((section) => section.name === name && section.commented);
  for (const source of sources()) expect({ source: source.name, has: config.hasSection(source.name) }).toEqual({ source: source.name, has: !optIn(source.name, source.folder) });
  expect(config.section('sql').string('password')).toBe('demo-password');
  expect(config.section('web.demo_portal').string('expect_text')).toBe('status: OK');
  expect(config.section('demo').string('xrootd')).toBe('127.0.0.1:11094');
  // A key at its default stays commented out, so the code's default applies.
  expect(config.section('host').has('timeout')).toBe(false);
});

test('a sample.cfg line that is none of section, key, commented key or comment is refused with its line', () => {
  expect(() => parseSample('[web]\n;timeout = 10s\n#timeout = 5s\n', 'sample.cfg')).toThrow('sample.cfg:3: not a section, a key, a commented key (;key = value) or a comment (; text): "#timeout = 5s"');
  const parsed = parseSample('[web]\n; time allowed\n;timeout = 10s\nurls = http://x/\n\n; an example\n;[web.portal]\n;url = http://y/\n', 'sample.cfg');
  expect(parsed.sections.map((section) => [section.name, section.commented, section.lead])).toEqual([
    ['web', false, []],
    ['web.portal', true, ['; an example']],
  ]);
  expect(parsed.sections[0].lines).toEqual([
    { kind: 'comment', text: '; time allowed' },
    { kind: 'key', key: 'timeout', value: '10s', commented: true },
    { kind: 'key', key: 'urls', value: 'http://x/', commented: false },
    { kind: 'comment', text: '' },
  ]);
});

test('a README without a generated block, or with an unknown one, is an error naming the file', () => {
  const blocks = { metrics: 'new\n' };
  expect(withGeneratedBlocks('# x\n<!-- generated: metrics -->\nold\n<!-- end generated -->\n', blocks, 'README.md')).toBe('# x\n<!-- generated: metrics -->\nnew\n<!-- end generated -->\n');
  expect(() => withGeneratedBlocks('# x\n', blocks, 'README.md')).toThrow("README.md: no generated block 'metrics'");
  expect(() => withGeneratedBlocks('<!-- generated: other -->\n<!-- end generated -->\n', blocks, 'README.md')).toThrow("README.md: unknown generated block 'other'");
});
