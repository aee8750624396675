// `npm run openapi`: writes openapi/openapi.json from the code (sorted, stable); commit the result.
import 'reflect-metadata';
import { mkdir, writeFile } from 'node:fs/promises';
import { generateOpenApiText } from '../common/openapi/generate.js';
import { loadConfig } from '../config/config.js';

const text = await generateOpenApiText(loadConfig({ ...process.env, WFM_ROLES: 'api,worker' }));
await mkdir('openapi', { recursive: true });
await writeFile('openapi/openapi.json', text);
console.log(`wrote openapi/openapi.json (${text.length} bytes)`);
process.exit(0);
