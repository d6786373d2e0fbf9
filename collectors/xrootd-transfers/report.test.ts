import { FIGURE_KEYS, emptyFigures, type Cell } from './accounting';
import { addCell, emptyTotals } from './report';

// addCell is written out figure by figure for speed: a figure added to FIGURE_KEYS but not there
// would silently be dropped from every document.
test('addCell adds every figure of FIGURE_KEYS, once', () => {
  const cell: Cell = { ...emptyFigures(), slotMs: 0, server: 's', serverSite: undefined, serverHost: 'h', clientHost: 'c', user: 'u', accessMode: 'copy', vo: 'unknown' };
  FIGURE_KEYS.forEach((key, index) => {
    cell[key] = 2 ** index;
  });
  const totals = emptyTotals();
  addCell(totals, cell, 'local');
  addCell(totals, cell, 'remote');
  for (const key of FIGURE_KEYS) expect({ key, total: totals[key] }).toEqual({ key, total: 2 * cell[key] });
  expect(Object.keys(emptyFigures()).sort()).toEqual([...FIGURE_KEYS].sort());
  expect([totals.accessesLocal, totals.accessesRemote]).toEqual([cell.filesOpened, cell.filesOpened]);
});
