import { createHash } from 'node:crypto';
import { headers as natsHeaders } from 'nats';
import { Config } from '../config/config';
import { decodeMessage, encodeMessage, MESSAGE_ID_HEADER, messageId, PRODUCER_HEADER, producerOfToken, producerToken, subjectFor } from './messages';
import { connectionOptions, streamSettings } from './settings';

describe('a producer as a subject token', () => {
  test.each([
    ['cms', 'cms'],
    ['my-app_2', 'my-app_2'],
    ['cms.t0', 'cms%2Et0'],
    ['a*b>c', 'a%2Ab%3Ec'],
    ['50%', '50%25'],
    ['é', '%C3%A9'],
  ])('%s becomes %s, one token without . * > or white space, and back', (producer, token) => {
    expect(producerToken(producer)).toBe(token);
    expect(token).toMatch(/^[A-Za-z0-9_%-]+$/);
    expect(producerOfToken(token)).toBe(producer);
  });

  test('two producers never share a token: a producer holding what an encoding looks like keeps its own', () => {
    expect(producerToken('a%2Eb')).not.toBe(producerToken('a.b'));
    expect(subjectFor('monit', 'cms.t0')).toBe('monit.cms%2Et0');
  });

  test('an empty producer has no subject', () => {
    expect(() => producerToken('')).toThrow('an empty producer has no subject');
  });
});

describe('a message', () => {
  const line = 'jobs,site=CERN running=4i 1701790000000';

  test('carries the line as payload, the _id and a hash of the line as Nats-Msg-Id and the producer as Monit-Producer', () => {
    const message = encodeMessage('monit', { producer: 'cms.t0', line, id: 'abc123' });
    const expectedId = `abc123:${createHash('sha256').update(line).digest('hex').slice(0, 16)}`;
    expect(message.subject).toBe('monit.cms%2Et0');
    expect(Buffer.from(message.payload).toString('utf8')).toBe(line);
    expect(message.headers.get(MESSAGE_ID_HEADER)).toBe(expectedId);
    expect(message.headers.get(PRODUCER_HEADER)).toBe('cms.t0');
    expect(decodeMessage('monit', { subject: message.subject, headers: message.headers, data: message.payload })).toEqual({ producer: 'cms.t0', line, id: expectedId });
  });

  test('the same _id with other values (a rerun of the slot) is another message; the same document again is the same one', () => {
    const id = messageId({ producer: 'cms', line, id: 'abc123' });
    expect(messageId({ producer: 'cms', line, id: 'abc123' })).toBe(id);
    expect(messageId({ producer: 'cms', line: line.replace('4i', '5i'), id: 'abc123' })).not.toBe(id);
    expect(id.startsWith('abc123:')).toBe(true);
  });

  test('without an _id, its id is the first 32 hex digits of sha256(producer NUL line): the same document, the same id', () => {
    const id = messageId({ producer: 'cms', line });
    expect(id).toBe(createHash('sha256').update(`cms\u0000${line}`).digest('hex').slice(0, 32));
    expect(messageId({ producer: 'cms', line: line.replace('4i', '5i') })).not.toBe(id);
    expect(messageId({ producer: 'atlas', line })).not.toBe(id);
    expect(encodeMessage('monit', { producer: 'cms', line, id: '' }).id).toBe(id);
  });

  test('without a Monit-Producer header, the producer is read from the subject; a subject of another prefix is refused', () => {
    const headers = natsHeaders();
    expect(decodeMessage('monit', { subject: 'monit.cms%2Et0', headers, data: Buffer.from(line) }).producer).toBe('cms.t0');
    expect(() => decodeMessage('monit', { subject: 'other.cms', data: Buffer.from(line) })).toThrow('subject other.cms is not under monit.');
  });
});

describe('[stream]', () => {
  const settings = (text: string) => streamSettings(Config.parse(`[stream]\n${text}`, 'test.cfg'));

  test('defaults: stream MONIT on monit.>, one replica, a 2m duplicate window, no age or byte limit', () => {
    expect(settings('servers = nats://127.0.0.1:4222, nats://127.0.0.1:4223')).toEqual({
      servers: ['nats://127.0.0.1:4222', 'nats://127.0.0.1:4223'],
      name: 'MONIT',
      subjectPrefix: 'monit',
      replicas: 1,
      duplicateWindowMs: 120_000,
      maxAgeMs: 0,
      maxBytes: -1,
      user: undefined,
      password: undefined,
      token: undefined,
      publishTimeoutMs: 10_000,
    });
  });

  test.each([
    ['', '[stream] servers is missing'],
    ['servers = http://127.0.0.1:4222', '[stream] servers must be nats://host:port or tls://host:port URLs, got "http://127.0.0.1:4222"'],
    ['servers = nats://a:1\nreplicas = 2', '[stream] replicas must be 1, 3 or 5'],
    ['servers = nats://a:1\nname = MONIT.X', '[stream] name must be letters, digits, _ and -'],
    ['servers = nats://a:1\nsubject_prefix = monit.x', '[stream] subject_prefix must be one subject token'],
    ['servers = nats://a:1\nmax_age = 1m', '[stream] max_age must be at least duplicate_window'],
    ['servers = nats://a:1\nuser = writer', '[stream] password is missing: user and password go together'],
    ['servers = nats://a:1\nuser = w\npassword = p\ntoken = t', '[stream] token and user/password are two ways to log in'],
    ['servers = nats://a:1\nduplicate_window = soon', '[stream] duplicate_window: expected a duration'],
  ])('%j: a config error naming the key', (text, message) => {
    expect(() => settings(text)).toThrow(`test.cfg: ${message}`);
  });

  test('tls:// and nats:// servers together are refused: the credentials would go in clear to some', () => {
    const config = Config.parse('[stream]\nservers = tls://a:1, nats://b:2\n', 'test.cfg');
    expect(() => connectionOptions(config, streamSettings(config), 'test')).toThrow('test.cfg: [stream] servers mixes tls:// and nats:// URLs');
  });
});
