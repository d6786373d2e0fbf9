import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../config/paths';
import { writeFileDurably } from './durableFile';
import { StateFile, StateFileError } from './stateFile';

const folder = (): string => mkdtempSync(path.join(PROJECT_ROOT, 'var', 'test', 'state-file-'));
const counter = { initial: () => ({ runs: 0 }), parse: (value: unknown) => value as { runs: number } };

test('the first read gives the initial state; a write is read back whole, with no temporary file left', () => {
  const file = new StateFile(path.join(folder(), 'nested', 'counter.json'), counter);
  expect(file.exists()).toBe(false);
  expect(file.read()).toEqual({ runs: 0 });
  file.write({ runs: 3 });
  expect(file.read()).toEqual({ runs: 3 });
  expect(JSON.parse(readFileSync(file.file, 'utf8'))).toEqual({ runs: 3 });
  expect(readdirSync(path.dirname(file.file))).toEqual(['counter.json']);
});

test('a dry run reads the state but never writes it', () => {
  const dir = folder();
  new StateFile(path.join(dir, 'counter.json'), counter).write({ runs: 1 });
  const dry = new StateFile(path.join(dir, 'counter.json'), counter, false);
  expect(dry.read()).toEqual({ runs: 1 });
  dry.write({ runs: 2 });
  expect(new StateFile(path.join(dir, 'counter.json'), counter).read()).toEqual({ runs: 1 });
  const fresh = new StateFile(path.join(dir, 'other.json'), counter, false);
  fresh.write({ runs: 5 });
  expect(existsSync(fresh.file)).toBe(false);
});

test('a file that is not JSON, or not this state, is a StateFileError naming the file', () => {
  const dir = folder();
  const file = path.join(dir, 'counter.json');
  writeFileSync(file, '{"runs": 4');
  expect(() => new StateFile(file, counter).read()).toThrow(StateFileError);
  expect(() => new StateFile(file, counter).read()).toThrow(`${file} is not JSON`);
  writeFileSync(file, '{"version": 9}');
  const strict = new StateFile(file, { initial: () => ({ version: 1 }), parse: (value) => {
    if ((value as { version?: number }).version !== 1) throw new Error('unknown state version 9');
    return value as { version: number };
  } });
  expect(() => strict.read()).toThrow(`${file}: unknown state version 9`);
});

test('serialize and parse let a state that is not plain JSON (a Map) round-trip', () => {
  const file = new StateFile(path.join(folder(), 'map.json'), {
    initial: () => new Map<string, number>(),
    parse: (value) => new Map(Object.entries(value as Record<string, number>)),
    serialize: (state) => Object.fromEntries(state),
  });
  file.write(new Map([['a', 1], ['b', 2]]));
  expect([...file.read()]).toEqual([['a', 1], ['b', 2]]);
});

test('readAsync reads as read does: the initial state, the stored one, a StateFileError', async () => {
  const dir = folder();
  const file = new StateFile(path.join(dir, 'counter.json'), counter);
  await expect(file.readAsync()).resolves.toEqual({ runs: 0 });
  file.write({ runs: 7 });
  await expect(file.readAsync()).resolves.toEqual({ runs: 7 });
  writeFileSync(file.file, '{"runs": 4');
  await expect(file.readAsync()).rejects.toThrow(StateFileError);
});

test('a file written durably in parts holds the parts one after the other, with no temporary file left', () => {
  const dir = folder();
  const file = path.join(dir, 'parts.bin');
  writeFileDurably(file, [Buffer.from('head'), new Uint8Array(new Uint16Array([1, 2]).buffer), Buffer.alloc(0), Buffer.from('tail')]);
  expect(readFileSync(file)).toEqual(Buffer.concat([Buffer.from('head'), Buffer.from(new Uint16Array([1, 2]).buffer), Buffer.from('tail')]));
  expect(readdirSync(dir)).toEqual(['parts.bin']);
});
