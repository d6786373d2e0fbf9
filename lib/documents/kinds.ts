import type { Scalar } from './types';

/**
 * One producer/type of schemas/, as a typed constant (schemas/kinds.ts, generated): its tag and field
 * names are literal types, so a misspelt name in a document or a query fails the compiler.
 */
export interface DocumentKind<Tag extends string = string, Fields extends Record<string, Scalar> = Record<string, Scalar>> {
  readonly producer: string;
  readonly type: string;
  readonly tags: { readonly [Name in Tag]: Name };
  readonly fields: { readonly [Name in keyof Fields & string]: Name };
}

/** The tags a document of `Kind` may carry (an undefined one is left out). */
export type TagsOf<Kind> = Kind extends DocumentKind<infer Tag, Record<string, Scalar>> ? { [Name in Tag]?: string } : never;

/** The fields a document of `Kind` may carry, each of its schema's type (undefined or null: not measured). */
export type FieldsOf<Kind> = Kind extends DocumentKind<string, infer Fields> ? { [Name in keyof Fields]?: Fields[Name] | null } : never;
