import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../config/paths';
import { SchemaRegistry } from './schemas';
import type { TypeSchema } from './types';

/** A schemas folder holding one type file. */
function schemasWith(fields: Record<string, unknown>, tags: Record<string, unknown> = {}): string {
  const dir = mkdtempSync(path.join(PROJECT_ROOT, 'var', 'test', 'schemas-'));
  mkdirSync(path.join(dir, 'demo'));
  writeFileSync(path.join(dir, 'demo', 'thing.json'), JSON.stringify({ producer: 'demo', type: 'thing', description: 'A thing.', tags, fields }));
  return dir;
}

const field = (unit: string): Record<string, unknown> => ({ type: 'float', unit, description: 'A value.', downsample: 'mean' });

test('a field whose unit schemas/units.json does not define stops the registry, naming the file, field and unit', () => {
  expect(SchemaRegistry.load(schemasWith({ value: field('B/s') })).require('demo', 'thing').fields.value.unit).toBe('B/s');
  expect(() => SchemaRegistry.load(schemasWith({ temperature: field('celsius') }))).toThrow(/demo\/thing\.json: field 'temperature' has unit 'celsius', which schemas\/units\.json does not define/);
});

test('a name that is both a tag and a field, or a reserved MONIT key, stops the registry', () => {
  expect(() => SchemaRegistry.load(schemasWith({ site: field('1') }, { site: { description: 'The site.' } }))).toThrow(/'site' is both a tag and a field/);
  expect(() => SchemaRegistry.load(schemasWith({ host: field('1') }))).toThrow(/'host' is a reserved MONIT key/);
});

test("names are plain names: a tag named 'constructor' is not taken for a field; 'time' stops the registry", () => {
  expect(Object.keys(SchemaRegistry.load(schemasWith({ value: field('1') }, { constructor: { description: 'A tag.' } })).require('demo', 'thing').tags)).toEqual(['constructor']);
  expect(() => SchemaRegistry.load(schemasWith({ time: field('1') }))).toThrow(/demo\/thing\.json: 'time' cannot be a tag or field/);
});

test("two producer spellings of one database ('my-app', 'my_app') stop the registry, naming both", () => {
  const schema = (producer: string, type: string): TypeSchema => ({ producer, type, description: 'A thing.', tags: {}, fields: { value: { type: 'float', unit: '1', description: 'A value.', downsample: 'mean' } } });
  expect(new SchemaRegistry([schema('my-app', 'a'), schema('my-app', 'b')]).all()).toHaveLength(2);
  expect(() => new SchemaRegistry([schema('my-app', 'a'), schema('my_app', 'b')])).toThrow("producers 'my-app' and 'my_app' write the same database monit_production_my_app");
});
