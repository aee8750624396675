// `npm run openapi`: writes openapi/openapi.json from the code (sorted, stable) and the typed client's
// types generated from it (src/api-client/operator-api.d.ts); commit both.
import 'reflect-metadata';
import { mkdir, writeFile } from 'node:fs/promises';
import { CLIENT_TYPES_PATH, generateClientTypes } from './openapi/client-types.js';
import { generateOpenApiText } from './openapi/generate.js';
import { loadConfig } from '../config/config.js';

const text = await generateOpenApiText(loadConfig({ ...process.env, WFM_ROLES: 'api,worker' }));
await mkdir('openapi', { recursive: true });
await writeFile('openapi/openapi.json', text);
console.log(`wrote openapi/openapi.json (${text.length} bytes)`);
const types = await generateClientTypes(text);
await writeFile(CLIENT_TYPES_PATH, types);
console.log(`wrote ${CLIENT_TYPES_PATH} (${types.length} bytes)`);
process.exit(0);
