// `npm run gen:schema`: writes packages/ts-api/config.schema.json, the experiment
// config's JSON Schema, from its one declaration (packages/ts-api/src/config-schema.ts).
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CONFIG_DEFAULTS, experimentConfigJsonSchema } from '../packages/ts-api/src/config-schema.js';

/** The defaults the schema shows editors: the declaration's own (the adaptive knobs' are
 * the core's). The distillation's depend on the source, so none is shown. */
export const SCHEMA_DEFAULTS = CONFIG_DEFAULTS;

export const SCHEMA_FILE = fileURLToPath(new URL('../packages/ts-api/config.schema.json', import.meta.url));
export const schemaText = (): string => `${JSON.stringify(experimentConfigJsonSchema(), null, 2)}\n`;

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(SCHEMA_FILE, schemaText());
  console.log(`wrote ${SCHEMA_FILE}`);
}
