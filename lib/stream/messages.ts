/**
 * The stream's message format, written once for the gateway (publisher) and the writers (consumers):
 * one accepted document is one message on `<prefix>.<producer>`, its payload the document's InfluxDB
 * line (millisecond precision), its `Nats-Msg-Id` the document's `_id` and a hash of that line. See lib/stream/README.md.
 */
import { createHash } from 'node:crypto';
import { headers as natsHeaders, type MsgHdrs } from 'nats';
import { toLineProtocol } from '../influx/lineProtocol';
import type { InterpretedDocument } from '../documents/interpret';

/** JetStream's de-duplication header. */
export const MESSAGE_ID_HEADER = 'Nats-Msg-Id';
export const PRODUCER_HEADER = 'Monit-Producer';
/** On a dead letter: InfluxDB's reason for refusing the line. */
export const REASON_HEADER = 'Monit-Reason';
/** On a dead letter: the subject and stream sequence of the message it was. */
export const ORIGIN_SUBJECT_HEADER = 'Monit-Subject';
export const ORIGIN_SEQUENCE_HEADER = 'Monit-Stream-Sequence';

/** One accepted document, as the stream carries it. */
export interface StreamPoint {
  producer: string;
  /** Its line protocol, timestamp in ms. */
  line: string;
  /** Its deterministic `_id`; messageId() makes one when absent. */
  id?: string;
}

/** Characters a producer keeps in a subject token; every other is %XX (its UTF-8 bytes). */
const TOKEN_SAFE = /^[A-Za-z0-9_-]+$/;
const TOKEN_UNSAFE = /[^A-Za-z0-9_-]/gu;

/**
 * A producer as one subject token. NATS splits subjects at '.', and '*' and '>' are wildcards, so every
 * character but letters, digits, '_' and '-' is percent-encoded: `cms.t0` → `cms%2Et0`. '%' itself is
 * encoded too, so two producers never share a token.
 */
export function producerToken(producer: string): string {
  if (producer === '') throw new Error('an empty producer has no subject');
  if (TOKEN_SAFE.test(producer)) return producer;
  return producer.replace(TOKEN_UNSAFE, (character) =>
    [...Buffer.from(character, 'utf8')].map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
  );
}

/** The producer a subject token names (producerToken's inverse). */
export function producerOfToken(token: string): string {
  return decodeURIComponent(token);
}

/** `<prefix>.<producer token>`: the subject of a producer's documents. */
export function subjectFor(prefix: string, producer: string): string {
  return `${prefix}.${producerToken(producer)}`;
}

/** `<prefix>_dead.<producer token>`: the subject of a producer's dead letters. */
export function deadLetterSubjectFor(prefix: string, producer: string): string {
  return `${deadLetterPrefix(prefix)}.${producerToken(producer)}`;
}

export function deadLetterPrefix(prefix: string): string {
  return `${prefix}_dead`;
}

/**
 * A document's message id: its `_id` and a hash of its line, `<_id>:<16 hex digits>`; without an `_id`, a
 * hash of its producer and line. The same document sent again has the same id (JetStream stores it
 * once); a rerun of a slot with other values has another one, so it is stored and overwrites the
 * point, as on the direct route (`_id` alone names the point, not its values).
 */
export function messageId(point: StreamPoint): string {
  if (point.id !== undefined && point.id !== '') return `${point.id}:${createHash('sha256').update(point.line).digest('hex').slice(0, 16)}`;
  return createHash('sha256').update(`${point.producer}\u0000${point.line}`).digest('hex').slice(0, 32);
}

/** The stream point of a document the gateway accepted: `point` as interpretDocument made it, `id` its `_id` if it has one. */
export function streamPointOf(producer: string, point: InterpretedDocument, id?: unknown): StreamPoint {
  return streamPointOfLine(producer, toLineProtocol(point), id);
}

/** The same, from a line already made (the gateway's); `id` is the document's `_id`, kept only when it is a non-empty string. */
export function streamPointOfLine(producer: string, line: string, id?: unknown): StreamPoint {
  return { producer, line, id: typeof id === 'string' && id !== '' ? id : undefined };
}

export interface EncodedMessage {
  subject: string;
  payload: Uint8Array;
  headers: MsgHdrs;
  id: string;
}

export function encodeMessage(prefix: string, point: StreamPoint): EncodedMessage {
  const id = messageId(point);
  const headers = natsHeaders();
  headers.set(MESSAGE_ID_HEADER, id);
  headers.set(PRODUCER_HEADER, point.producer);
  return { subject: subjectFor(prefix, point.producer), payload: Buffer.from(point.line, 'utf8'), headers, id };
}

/** What a consumer needs of a message: subject, headers and payload. */
export interface ReceivedMessage {
  subject: string;
  headers?: MsgHdrs;
  data: Uint8Array;
}

/**
 * The point a message carries. Its producer is the `Monit-Producer` header, else its subject's last
 * token; a message whose subject is not under `prefix` throws (it is no message of this format).
 */
export function decodeMessage(prefix: string, message: ReceivedMessage): Required<StreamPoint> {
  if (!message.subject.startsWith(`${prefix}.`)) throw new Error(`subject ${message.subject} is not under ${prefix}.`);
  const producer = message.headers?.get(PRODUCER_HEADER) || producerOfToken(message.subject.slice(prefix.length + 1));
  const line = Buffer.from(message.data.buffer, message.data.byteOffset, message.data.byteLength).toString('utf8');
  return { producer, line, id: message.headers?.get(MESSAGE_ID_HEADER) || messageId({ producer, line }) };
}
