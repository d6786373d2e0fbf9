import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Config } from '../../lib/config/config';
import { parseTarget } from './probe';
import { probeSettings } from './settings';

const sample = readFileSync(path.join(__dirname, 'sample.cfg'), 'utf8');
const uncomment = (text: string): string => text.replace(/^;(?=\w+ = )/gm, '');

describe('[xrdprobe] settings', () => {
  it('sample.cfg, uncommented, gives exactly the defaults', () => {
    expect(uncomment(sample)).not.toBe(sample);
    expect(probeSettings(Config.parse(uncomment(sample)), 'h')).toEqual(probeSettings(Config.parse(''), 'h'));
  });

  it('the README shows sample.cfg as it is', () => {
    expect(readFileSync(path.join(__dirname, 'README.md'), 'utf8')).toContain(sample);
  });

  it('reads endpoints as XRootD file URLs, with the default port when none is given', () => {
    const settings = probeSettings(Config.parse('[xrdprobe]\nendpoints = root://a.example.org//store/test.root, xroots://b:1095//t\nupload = true\nupload_dir = /probe/\nupload_size_mb = 0.5\n'), 'monitor01');
    expect(settings.targets).toEqual([
      { endpoint: 'a.example.org:1094', url: 'root://a.example.org//store/test.root', base: 'root://a.example.org:1094' },
      { endpoint: 'b:1095', url: 'xroots://b:1095//t', base: 'xroots://b:1095' },
    ]);
    expect(settings).toMatchObject({ upload: true, uploadPath: '/probe/probe-monitor01.bin', uploadBytes: 500_000 });
    expect(() => parseTarget('http://a/b')).toThrow(/not an XRootD file URL/);
    expect(() => probeSettings(Config.parse('[xrdprobe]\nendpoints = root://a:1094/\n', 'x.cfg'), 'h')).toThrow(/x.cfg: \[xrdprobe\] endpoints: "root:\/\/a:1094\/" is not an XRootD file URL/);
    expect(() => probeSettings(Config.parse('[xrdprobe]\nupload_dir = relative\n', 'x.cfg'), 'h')).toThrow(/upload_dir must be an absolute path/);
  });
});
