import { databaseFor, interpretDocument } from './interpret';
import { SchemaRegistry } from './schemas';

/* interpretDocument remembers the database name of recent producers (at most a thousand, then it starts again). */

function databaseOfDocument(producer: string): string {
  const result = interpretDocument({ producer, type: 'm', timestamp: 1_700_000_000_000, value: 1 }, new SchemaRegistry());
  if (!result.ok) throw new Error(result.reason);
  return result.point.database;
}

it('each of 2,500 producers, past the thousand remembered, and the first ones again, get their own database', () => {
  const producers = Array.from({ length: 2500 }, (_, index) => (index % 2 ? `p-${index}` : `p_${index}`));
  for (const producer of [...producers, ...producers.slice(0, 10)]) expect(databaseOfDocument(producer)).toBe(databaseFor(producer));
  // Two spellings of one database give the same name, each computed from its own producer.
  expect([databaseOfDocument('my-app'), databaseOfDocument('my_app'), databaseOfDocument('my.app')]).toEqual(['monit_production_my_app', 'monit_production_my_app', 'monit_production_my.app']);
});
