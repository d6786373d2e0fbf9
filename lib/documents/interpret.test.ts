import { interpretDocument, databaseFor } from './interpret';
import { DocumentFactory, documentId } from './document';
import { SchemaRegistry, schemaRegistry } from './schemas';

const registry = schemaRegistry();
const slot = Date.UTC(2026, 10, 22, 10, 0);

describe('interpretDocument', () => {
  it('maps producer, type, tags and typed fields', () => {
    const factory = new DocumentFactory({ slotMs: slot, host: 'node1' });
    const document = factory.build('monit-collectors', 'run', { job: 'web' }, { ok: true, duration_ms: 12, errors: 0, message: '' });
    const result = interpretDocument(document, registry);
    expect(result).toEqual({
      ok: true,
      point: {
        database: 'monit_production_monit_collectors',
        measurement: 'run',
        tags: { job: 'web' },
        fields: [
          { name: 'ok', type: 'bool', value: true },
          { name: 'duration_ms', type: 'int', value: 12 },
          { name: 'errors', type: 'int', value: 0 },
          { name: 'message', type: 'string', value: '' },
        ],
        timestampMs: slot,
      },
    });
  });

  it('without idb_fields, takes every remaining scalar key and data.* as float fields', () => {
    const result = interpretDocument({ producer: 'x-y', type: 't', timestamp: 1700000000, idb_tags: ['site'], site: 'A', n: 3, data: { m: 1.5 } }, registry);
    expect(result.ok && result.point).toEqual({
      database: databaseFor('x-y'),
      measurement: 't',
      tags: { site: 'A' },
      fields: [
        { name: 'n', type: 'float', value: 3 },
        { name: 'm', type: 'float', value: 1.5 },
      ],
      timestampMs: 1700000000000,
    });
  });

  it.each([
    [{ type: 't', n: 1 }, /producer/],
    [{ producer: 'p', n: 1 }, /type/],
    [{ producer: 'p', type: 't', n: [1, 2] }, /must be string,number,boolean,null/],
    [{ producer: 'p', type: 't', idb_fields: ['n'], n: { a: 1 } }, /n/],
    [{ producer: 'p', type: 't', idb_tags: ['n'], idb_fields: ['n'], n: 1 }, /both idb_tags and idb_fields/],
    [{ producer: 'monit-collectors', type: 'run', idb_tags: ['job'], job: 'x', idb_fields: ['duration_ms'], duration_ms: 'slow' }, /duration_ms' must be an integer/],
    [{ producer: 'monit-collectors', type: 'run', idb_fields: ['duration_ms'], duration_ms: 1.5 }, /must be an integer/],
    [{ producer: 'monit-collectors', type: 'run', idb_fields: ['duraton_ms'], duraton_ms: 1 }, /not in schemas.*typo/],
    [{ producer: 'p', type: 't' }, /no fields/],
    [[1, 2], /JSON object/],
  ])('refuses %j with a clear reason', (document, reason) => {
    const result = interpretDocument(document, registry);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(reason);
  });
});

describe('DocumentFactory', () => {
  it('stamps the slot, host, type_prefix and a deterministic _id', () => {
    const factory = new DocumentFactory({ slotMs: slot, host: 'node1' });
    const a = factory.build('monit-collectors', 'run', { job: 'web' }, { ok: true });
    const b = factory.build('monit-collectors', 'run', { job: 'web' }, { ok: false });
    expect(a).toMatchObject({ timestamp: slot, host: 'node1', type_prefix: 'raw', idb_tags: ['job'], idb_fields: ['ok'] });
    expect(a._id).toBe(b._id);
    expect(a._id).toBe(documentId('monit-collectors', 'run', { job: 'web' }, slot));
    expect(documentId('monit-collectors', 'run', { job: 'other' }, slot)).not.toBe(a._id);
  });

  it('throws at once on a field the schema does not know', () => {
    const factory = new DocumentFactory({ slotMs: slot });
    expect(() => factory.build('monit-collectors', 'run', { job: 'x' }, { okk: true })).toThrow(/okk/);
    expect(() => factory.build('nobody', 'nothing', {}, { a: 1 })).toThrow(/no schema/);
  });
});

describe('SchemaRegistry', () => {
  it('loads every schema file and refuses a broken one', () => {
    expect(registry.all().length).toBeGreaterThan(0);
    expect(() => new SchemaRegistry().require('a', 'b')).toThrow(/schemas\/a\/b.json/);
  });
});
