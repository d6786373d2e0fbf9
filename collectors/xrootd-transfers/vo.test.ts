import { Config, ConfigError } from '../../lib/config/config';
import { parseVoRules } from './vo';

const rules = (text: string) => parseVoRules(Config.parse(`[xrootd-transfers.vo]\n${text}`, 'vo.cfg').section('xrootd-transfers.vo'));

describe('VO rules', () => {
  const table = rules(
    [
      'atlas = issuer:https://atlas-auth.example/, dn:/DC=org/CN=atl*, appinfo:atlas*, path:/atlas/',
      'cms = group:/cms*, issuer:https://cms-auth.example/, dn:*/CN=cms*, path:/store/',
      'special = path:/atlas/special/',
    ].join('\n'),
  );

  test('kinds are tried in order issuer, group, dn, appinfo, path, whatever the order in a rule', () => {
    // A cms token group beats an atlas DN; an atlas issuer beats a cms group.
    expect(table.voOf({ token: { groups: ['/cms/users'] }, dn: '/DC=org/CN=atlas user', path: '/atlas/x' })).toBe('cms');
    expect(table.voOf({ token: { issuer: 'https://atlas-auth.example/', groups: ['/cms'] } })).toBe('atlas');
    expect(table.voOf({ dn: '/DC=org/CN=atlas user', appinfo: 'cmsRun', path: '/store/x' })).toBe('atlas');
    expect(table.voOf({ appinfo: 'atlas-pilot 3.1', path: '/store/x' })).toBe('atlas');
    expect(table.voOf({ path: '/store/mc/file.root' })).toBe('cms');
  });

  test('within a kind the first VO of the section wins; nothing matching is unknown', () => {
    expect(table.voOf({ path: '/atlas/special/file' })).toBe('atlas');
    expect(table.voOf({ path: '/other/file' })).toBe('unknown');
    expect(table.voOf({})).toBe('unknown');
    // A glob matches the whole value: the DN must start as the pattern does.
    expect(table.voOf({ dn: '/DC=com/CN=atlas' })).toBe('unknown');
    expect(table.voOf({ dn: '/DC=ch/O=x/CN=cms pilot' })).toBe('cms');
    expect(table.size).toBe(9);
  });

  test('a bad rule is a config error naming the file, section and key', () => {
    expect(() => rules('atlas = dns:/DC=org/*')).toThrow(new ConfigError('vo.cfg: [xrootd-transfers.vo] atlas rule "dns:/DC=org/*" must be kind:pattern with kind one of issuer, group, dn, appinfo, path'));
    expect(() => rules('atlas = /atlas/')).toThrow(/\[xrootd-transfers\.vo\] atlas rule "\/atlas\/" must be kind:pattern/);
    expect(() => rules('atlas = path:')).toThrow(/\[xrootd-transfers\.vo\] atlas rule "path:" has an empty pattern/);
    expect(() => rules('atlas = dn:*')).toThrow(/a lone \* would match everything/);
    expect(() => rules('atlas =')).toThrow(/\[xrootd-transfers\.vo\] atlas lists no rules/);
    expect(() => rules('unknown = path:/x/')).toThrow(/\[xrootd-transfers\.vo\] unknown is not a VO name/);
    expect(() => rules('at las = path:/x/')).toThrow(/\[xrootd-transfers\.vo\] at las is not a VO name/);
  });
});
