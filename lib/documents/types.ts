/** A JSON scalar: the only kind of value a MONIT document may carry as a tag or field. */
export type Scalar = string | number | boolean;

/** A MONIT document as POSTed to the ingestion endpoint (see schemas/envelope.schema.json). */
export interface MonitDocument {
  producer: string;
  type: string;
  /** UTC milliseconds (a value below 1e11 is read as seconds). */
  timestamp?: number;
  /** The node that submitted the document. */
  host?: string;
  type_prefix?: 'raw' | 'agg' | 'enr';
  _id?: string;
  idb_tags?: string[];
  idb_fields?: string[];
  data?: Record<string, unknown>;
  [key: string]: unknown;
}

/** Downsampling functions a field may declare. */
export const DOWNSAMPLE_FUNCTIONS = ['mean', 'sum', 'max', 'min', 'last'] as const;
export type DownsampleFunction = (typeof DOWNSAMPLE_FUNCTIONS)[number];

export const FIELD_TYPES = ['int', 'float', 'bool', 'string'] as const;
export type FieldType = (typeof FIELD_TYPES)[number];

export interface FieldSchema {
  type: FieldType;
  unit: string;
  description: string;
  downsample: DownsampleFunction;
}

export interface TagSchema {
  description: string;
}

/** One producer/type: the contract between a collector, the gateway, downsampling and dashboards. */
export interface TypeSchema {
  producer: string;
  type: string;
  description: string;
  tags: Record<string, TagSchema>;
  fields: Record<string, FieldSchema>;
}
