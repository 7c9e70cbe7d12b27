// `npm run gen:schema`: writes packages/ts-api/config.schema.json, the experiment
// config's JSON Schema, from its one declaration (packages/ts-api/src/config-schema.ts).
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { experimentConfigJsonSchema } from '../packages/ts-api/src/config-schema.js';
import { CORE_DEFAULTS } from '../packages/ts-api/src/core-types.js';
import { DEFAULTS } from '../packages/ts-api/src/experiment.js';

/** The defaults the schema shows editors: the experiment's (experiment.ts DEFAULTS) and,
 * for A-iALP_ap's knobs, the core's. The distillation's depend on the source, so none is shown. */
export const SCHEMA_DEFAULTS = {
  seeds: DEFAULTS.seeds,
  llm: DEFAULTS.llm,
  earlyEpisodes: DEFAULTS.early,
  deploy: DEFAULTS.deploy,
  pretrain: DEFAULTS.pretrain,
  online: DEFAULTS.online,
  adaptive: CORE_DEFAULTS.adaptive,
};

export const SCHEMA_FILE = fileURLToPath(new URL('../packages/ts-api/config.schema.json', import.meta.url));
export const schemaText = (): string => `${JSON.stringify(experimentConfigJsonSchema(SCHEMA_DEFAULTS), null, 2)}\n`;

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(SCHEMA_FILE, schemaText());
  console.log(`wrote ${SCHEMA_FILE}`);
}
