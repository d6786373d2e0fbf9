import { readFileSync } from 'node:fs';
import path from 'node:path';
import { aggregateServer, sampleOf } from './aggregate';
import { parseSummaryReport, ReportFormatError, type SummaryReport } from './summaryReport';

const SAMPLE = readFileSync(path.join(__dirname, 'testdata', 'summary-report-sample.xml'), 'utf8');

/** The recorded report with some attributes and counters changed. */
function report(change: { time: number; pid?: number; startTime?: number; in?: number; out?: number }): SummaryReport {
  const base = parseSummaryReport(SAMPLE);
  const values = { ...base.values };
  if (change.in !== undefined) values['link.in'] = change.in;
  if (change.out !== undefined) values['link.out'] = change.out;
  return { ...base, time: change.time, pid: change.pid ?? base.pid, startTime: change.startTime ?? base.startTime, values };
}

describe('parseSummaryReport', () => {
  it('reads the header and flattens every stats block of a real report', () => {
    const parsed = parseSummaryReport(SAMPLE);
    expect(parsed).toMatchObject({ source: 'vm:11094', program: 'xrootd', pid: 20316, startTime: 1795363299, time: 1795363309, version: 'v5.5.3' });
    expect(parsed.site).toBeUndefined(); // site="" means none
    expect(parsed.values).toMatchObject({
      'link.num': 0,
      'link.maxn': 1,
      'link.tot': 8,
      'link.in': 20021212,
      'link.out': 20025103,
      'xrootd.ops.open': 2,
      'xrootd.ops.rd': 3,
      'xrootd.ops.wr': 3,
      'xrootd.err': 1,
      'xrootd.lgn.num': 8,
      'xrootd.lgn.ua': 8,
      'sched.threads': 4,
      'sched.inq': 1,
      'sched.maxinq': 3,
      'proc.sys.u': 37949,
    });
    expect(parsed.ossPaths).toEqual([{ path: '/', totalKiB: 264212084, freeKiB: 81555432 }]);
  });

  it('accepts the NUL byte and new line that end a `query stats` reply', () => {
    expect(parseSummaryReport(`${SAMPLE}\0\n`).values['link.in']).toBe(20021212);
  });

  it('refuses what is not a summary report', () => {
    expect(() => parseSummaryReport('<statistics tod="1"')).toThrow(ReportFormatError);
    expect(() => parseSummaryReport('<other/>')).toThrow(/no <statistics>/);
    expect(() => parseSummaryReport(SAMPLE.replace(' pid="20316"', ''))).toThrow(/pid/);
    expect(() => parseSummaryReport('\u0001\u0002binary')).toThrow(ReportFormatError);
    // A packet cut short (UDP truncation) is refused whole, never read in part.
    expect(() => parseSummaryReport(SAMPLE.slice(0, SAMPLE.indexOf('<stats id="sched">')))).toThrow(/never closed/);
    expect(() => parseSummaryReport(SAMPLE.replace('</maxn>', '</maxm>'))).toThrow(ReportFormatError);
    expect(() => parseSummaryReport(SAMPLE.replace('<in>', '<in <'))).toThrow(/not well-formed/);
  });
});

describe('aggregateServer', () => {
  const keys = ['link.in', 'link.out'];

  it('sums deltas and intervals of consecutive reports, in any arrival order, from the previous run sample', () => {
    const previous = sampleOf(report({ time: 100, in: 1000, out: 0 }));
    const window = aggregateServer(previous, [report({ time: 130, in: 4000, out: 90 }), report({ time: 110, in: 2000, out: 30 })], keys);
    expect(window).toMatchObject({ reports: 2, restarts: 0, intervalSeconds: 30, deltas: { 'link.in': 3000, 'link.out': 90 } });
    expect(window.latest.time).toBe(130);
    expect(window.next.time).toBe(130);
  });

  it('gives no rate interval for a first report', () => {
    const window = aggregateServer(undefined, [report({ time: 100 })], keys);
    expect(window).toMatchObject({ reports: 1, restarts: 0, intervalSeconds: 0, deltas: {} });
  });

  it('treats a new pid or start time as a restart: no interval spans it', () => {
    const previous = sampleOf(report({ time: 100, in: 5000 }));
    const window = aggregateServer(previous, [report({ time: 120, pid: 7, startTime: 115, in: 10 }), report({ time: 130, pid: 7, startTime: 115, in: 110 })], keys);
    expect(window).toMatchObject({ restarts: 1, intervalSeconds: 10, deltas: { 'link.in': 100 } });
    expect(window.next.pid).toBe(7);
  });

  it('treats a counter going backwards as a restart even with the same pid and start time', () => {
    const window = aggregateServer(undefined, [report({ time: 100, in: 5000 }), report({ time: 110, in: 100 }), report({ time: 120, in: 300 })], keys);
    expect(window).toMatchObject({ restarts: 1, intervalSeconds: 10, deltas: { 'link.in': 200 } });
  });

  it('ignores duplicates and reports not newer than the previous sample', () => {
    const previous = sampleOf(report({ time: 100, in: 1000 }));
    const window = aggregateServer(previous, [report({ time: 100, in: 1000 }), report({ time: 90, in: 900 }), report({ time: 110, in: 2000 }), report({ time: 110, in: 2000 })], keys);
    expect(window).toMatchObject({ reports: 4, restarts: 0, intervalSeconds: 10, deltas: { 'link.in': 1000 } });
  });
});
