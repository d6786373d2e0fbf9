import { normaliseHost, parseSiteTable, siteOfHostName } from './siteTable';

describe('the domain → site table', () => {
  const table = parseSiteTable([
    ['in2p3.fr', 'cc*:IN2P3-CC, clr*:IN2P3-LPC, mar*:IN2P3-CPPM'],
    ['cern.ch', 'CERN-PROD'],
    ['physik.uni-example.de', 'UNI-EXAMPLE-PHYS'],
    ['uni-example.de', 'UNI-EXAMPLE'],
  ]);

  test('domain table with first-label rules, longest domain first', () => {
    expect(siteOfHostName(table, 'ccwsge1317.in2p3.fr')).toEqual({ hostName: 'ccwsge1317.in2p3.fr', domain: 'in2p3.fr', site: 'IN2P3-CC' });
    expect(siteOfHostName(table, 'clrwn71.in2p3.fr').site).toBe('IN2P3-LPC');
    expect(siteOfHostName(table, 'marwn1.in2p3.fr').site).toBe('IN2P3-CPPM');
    expect(siteOfHostName(table, 'lyown3.in2p3.fr')).toEqual({ hostName: 'lyown3.in2p3.fr', domain: 'in2p3.fr', site: 'unknown' });
    expect(siteOfHostName(table, 'LXPLUS901.CERN.CH.')).toEqual({ hostName: 'lxplus901.cern.ch', domain: 'cern.ch', site: 'CERN-PROD' });
    expect(siteOfHostName(table, 'wn1.physik.uni-example.de').site).toBe('UNI-EXAMPLE-PHYS');
    expect(siteOfHostName(table, 'wn1.chemie.uni-example.de').site).toBe('UNI-EXAMPLE');
    expect(siteOfHostName(table, 'node7.example.org')).toEqual({ hostName: 'node7.example.org', domain: 'example.org', site: 'unknown' });
    expect(() => parseSiteTable([['bad.org', 'two words']])).toThrow(/bad.org/);
  });

  test('an address is never mapped by the table: its site is unknown', () => {
    expect(siteOfHostName(table, '[::ffff:192.0.2.7]')).toEqual({ hostName: '192.0.2.7', domain: 'unknown', site: 'unknown' });
  });

  test('host names as XRootD writes them: brackets, the IPv4-mapped prefix and a final dot go', () => {
    expect(normaliseHost(' [::ffff:192.0.2.7] ')).toBe('192.0.2.7');
    expect(normaliseHost('[2001:db8::1]')).toBe('2001:db8::1');
    expect(normaliseHost('::ffff:not-an-address')).toBe('::ffff:not-an-address');
    expect(normaliseHost('CCWSGE1317.IN2P3.FR.')).toBe('ccwsge1317.in2p3.fr');
  });
});
