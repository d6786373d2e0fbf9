import { readFileSync, writeFileSync } from 'node:fs';
import Ajv from 'ajv';
import standaloneCode from 'ajv/dist/standalone';
import { AJV_OPTIONS, ENVELOPE_SCHEMA_FILE, PRECOMPILED_VALIDATORS, TYPE_SCHEMA_FILE } from '../../lib/documents/schemas';

/** Build step: turns the two JSON Schemas into ajv standalone code next to dist/lib/schemas.js. */
const ajv = new Ajv({ ...AJV_OPTIONS, code: { source: true } });
ajv.addSchema(JSON.parse(readFileSync(ENVELOPE_SCHEMA_FILE, 'utf8')) as object, 'envelope');
ajv.addSchema(JSON.parse(readFileSync(TYPE_SCHEMA_FILE, 'utf8')) as object, 'typeSchema');
writeFileSync(PRECOMPILED_VALIDATORS, standaloneCode(ajv, { envelope: 'envelope', typeSchema: 'typeSchema' }));
