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

  it('takes source_site from its own key, else from this host in [xrootd-transfers.sites], else none', () => {
    const table = '[xrootd-transfers.sites]\ncern.ch = CERN-PROD\nin2p3.fr = cc*:IN2P3-CC, IN2P3-OTHER\n';
    const of = (text: string, hostname: string) => probeSettings(Config.parse(text, 'x.cfg'), hostname);
    expect(of(`[xrdprobe]\nsource_site = MY-SITE\n${table}`, 'monitor01.cern.ch')).toMatchObject({ sourceSite: 'MY-SITE', sourceSiteOrigin: '[xrdprobe] source_site' });
    expect(of(table, 'monitor01.cern.ch')).toMatchObject({ sourceSite: 'CERN-PROD', sourceSiteOrigin: 'monitor01.cern.ch in [xrootd-transfers.sites]' });
    expect(of(table, 'ccprobe.in2p3.fr').sourceSite).toBe('IN2P3-CC');
    expect(of(table, 'lyoprobe.in2p3.fr').sourceSite).toBe('IN2P3-OTHER');
    // A short host name, or a domain the table does not hold: no source site, and the reason.
    expect(of(table, 'monitor01')).toMatchObject({ sourceSite: undefined, sourceSiteOrigin: 'neither [xrdprobe] source_site nor [xrootd-transfers.sites] names the site of monitor01' });
    expect(of('', 'probe.example.org').sourceSite).toBeUndefined();
    expect(() => of('[xrdprobe]\nsource_site = MY SITE\n', 'h')).toThrow('x.cfg: [xrdprobe] source_site must be one site name without spaces, got "MY SITE"');
    expect(() => of('[xrootd-transfers.sites]\ncern.ch = a b\n', 'h.cern.ch')).toThrow(/x.cfg: \[xrootd-transfers.sites\]: site table entry "cern.ch = a b"/);
  });
});
