import { SourceFailure } from '../documents/failures';
import { entriesOf } from './cricEntries';

const entries = (text: string) => [...entriesOf(Buffer.from(text), 'CRIC sites', 'sites')];

describe("the entries of a CRIC ?json answer", () => {
  test('each entry that is an object, by name and in order; other members are left out', () => {
    const text = JSON.stringify({ AGLT2: { name: 'AGLT2', cloud: 'US' }, note: 'not a site', 'CERN-PROD': { name: 'CERN-PROD' }, list: [1] });
    expect(entries(text)).toEqual([
      ['AGLT2', { name: 'AGLT2', cloud: 'US' }],
      ['CERN-PROD', { name: 'CERN-PROD' }],
    ]);
  });

  test('an answer that is not an object is a malformed SourceFailure naming the source and what was expected', () => {
    let thrown: unknown;
    try {
      entries('[{"name": "AGLT2"}]');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(SourceFailure);
    expect(thrown).toMatchObject({ failureClass: 'malformed', message: "CRIC sites: expected an object of sites keyed by name (CRIC's ?json answer)" });
  });

  test('a text that is not JSON stays a SyntaxError, for the loader to name the endpoint', () => {
    expect(() => entries('{"AGLT2": ')).toThrow(SyntaxError);
    expect(() => entries('{"AGLT2": ')).not.toThrow(SourceFailure);
  });
});
