import { createHash } from 'node:crypto';
import os from 'node:os';
import { interpretDocument } from './interpret';
import { SchemaRegistry, schemaRegistry } from './schemas';
import type { DocumentKind, FieldsOf, TagsOf } from './kinds';
import type { MonitDocument, Scalar } from './types';

/**
 * The deterministic `_id`: the same producer, type, tags and slot always give the same id,
 * so a rerun or a replay is recognisably the same document.
 */
export function documentId(producer: string, type: string, tags: Record<string, string>, timestampMs: number): string {
  const canonicalTags = Object.keys(tags)
    .sort()
    .map((key) => `${key}=${tags[key]}`)
    .join('\u0000');
  return createHash('sha256').update(`${producer}\u0000${type}\u0000${canonicalTags}\u0000${timestampMs}`).digest('hex').slice(0, 32);
}

export interface DocumentFactoryOptions {
  /** Start of the slot, UTC ms: every document of the run carries it. */
  slotMs: number;
  host?: string;
  registry?: SchemaRegistry;
}

type Tags = Record<string, string | undefined>;
type Fields = Record<string, Scalar | null | undefined>;
type NamedBuildArguments = [producer: string, type: string, tags: Tags, fields: Fields, timestampMs?: number];
type KindBuildRest = [tags: Tags, fields: Fields, timestampMs?: number];
type BuildArguments = NamedBuildArguments | [kind: DocumentKind, ...rest: KindBuildRest];

/** Builds schema-checked MONIT documents for one run; a document that breaks its schema throws at once. */
export class DocumentFactory {
  readonly slotMs: number;
  readonly host: string;
  private readonly registry: SchemaRegistry;
  /** Documents this factory built and checked; frozen, so they are still valid when the runner takes them. */
  private readonly checked = new WeakSet<MonitDocument>();

  constructor(options: DocumentFactoryOptions) {
    this.slotMs = options.slotMs;
    this.host = options.host ?? os.hostname();
    this.registry = options.registry ?? schemaRegistry();
  }

  /**
   * One document of a kind of schemas/kinds.ts (or of `producer`, `type` named as strings, for kinds
   * only known at run time). Tags with an undefined value are left out; fields that are undefined or
   * null (not measured this time) are left out. `timestampMs` overrides the slot.
   */
  build<Kind extends DocumentKind>(kind: Kind, tags: TagsOf<Kind>, fields: FieldsOf<Kind>, timestampMs?: number): MonitDocument;
  build(producer: string, type: string, tags: Record<string, string | undefined>, fields: Record<string, Scalar | null | undefined>, timestampMs?: number): MonitDocument;
  build(...args: BuildArguments): MonitDocument {
    const [producer, type, tags, fields, timestampMs = this.slotMs] =
      typeof args[0] === 'string' ? (args as NamedBuildArguments) : [args[0].producer, args[0].type, ...(args.slice(1) as KindBuildRest)];
    this.registry.require(producer, type);
    // Null prototypes: a key named '__proto__' is kept as an ordinary key, not taken for the prototype.
    const presentTags = Object.create(null) as Record<string, string>;
    for (const [key, value] of Object.entries(tags)) if (value !== undefined) presentTags[key] = value;
    const presentFields = Object.create(null) as Record<string, Scalar>;
    for (const [key, value] of Object.entries(fields)) if (value !== undefined && value !== null) presentFields[key] = value;
    const document: MonitDocument = {
      producer,
      type,
      timestamp: timestampMs,
      host: this.host,
      type_prefix: 'raw',
      _id: documentId(producer, type, presentTags, timestampMs),
      idb_tags: Object.keys(presentTags),
      idb_fields: Object.keys(presentFields),
      ...presentTags,
      ...presentFields,
    };
    const check = interpretDocument(document, this.registry);
    if (!check.ok) throw new Error(`invalid ${producer}/${type} document: ${check.reason}`);
    this.checked.add(Object.freeze(document));
    return document;
  }

  /** Whether this factory built (and so checked) `document`: the runner need not check it again. */
  built(document: MonitDocument): boolean {
    return this.checked.has(document);
  }
}
