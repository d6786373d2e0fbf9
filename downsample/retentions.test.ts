import { Config } from '../lib/config/config';
import { retentionChoices, retentionFor, retentionThresholdsFrom } from './retentions';

const DAY_MS = 86_400_000;
const INFLUXDB = '[influxdb]\nurl = http://127.0.0.1:8186\n';
const config = (text: string): Config => Config.parse(INFLUXDB + text);

describe('retention thresholds', () => {
  test('default to raw up to 2 days and 1h up to 90 days', () => {
    expect(retentionThresholdsFrom(config(''))).toEqual({ rawMaxRangeMs: 2 * DAY_MS, hourlyMaxRangeMs: 90 * DAY_MS });
  });

  test('come from [dashboards] and are checked against the RP durations', () => {
    expect(retentionThresholdsFrom(config('[dashboards]\nraw_max_range = 7d\n1h_max_range = 180d\n'))).toEqual({ rawMaxRangeMs: 7 * DAY_MS, hourlyMaxRangeMs: 180 * DAY_MS });
    expect(() => retentionThresholdsFrom(config('[dashboards]\nraw_max_range = 40d\n'))).toThrow('[dashboards] raw_max_range is longer than [influxdb] raw_duration (30d)');
    expect(() => retentionThresholdsFrom(Config.parse(`${INFLUXDB}1h_duration = 60d\n`))).toThrow('[dashboards] 1h_max_range is longer than [influxdb] 1h_duration (60d)');
    expect(() => retentionThresholdsFrom(config('[dashboards]\nraw_max_range = 3d\n1h_max_range = 2d\n'))).toThrow('1h_max_range must be longer than raw_max_range');
  });

  test('choose the RP at the boundaries: a range of exactly the threshold still reads the finer RP', () => {
    expect(retentionFor(2 * DAY_MS).rp).toBe('raw');
    expect(retentionFor(2 * DAY_MS + 1).rp).toBe('1h');
    expect(retentionFor(90 * DAY_MS).rp).toBe('1h');
    expect(retentionFor(90 * DAY_MS + 1).rp).toBe('1d');
    expect(retentionChoices().map((choice) => [choice.rp, choice.interval, choice.intervalSeconds])).toEqual([
      ['raw', '10m', 600],
      ['1h', '1h', 3600],
      ['1d', '1d', 86400],
    ]);
  });
});
