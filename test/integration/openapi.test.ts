import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { CLIENT_TYPES_PATH, generateClientTypes } from '../../src/common/openapi/client-types.js';
import { firstOpenApiDifference, generateOpenApiText } from '../../src/common/openapi/generate.js';
import { loadConfig } from '../../src/config/config.js';

describe('OpenAPI drift check', () => {
  it('the committed openapi/openapi.json is what the code generates (run `npm run openapi` if not)', async () => {
    const committed = await readFile('openapi/openapi.json', 'utf8');
    const generated = await generateOpenApiText(loadConfig({}));
    expect(firstOpenApiDifference(committed, generated)).toBeUndefined();
    expect(JSON.parse(generated)).toMatchObject({ openapi: '3.1.0' });
  });

  it('detects a changed document and says where', async () => {
    const generated = await generateOpenApiText(loadConfig({}));
    const changed = JSON.parse(generated) as { info: { title: string } };
    changed.info.title = 'something else';
    expect(firstOpenApiDifference(JSON.stringify(changed, null, 2) + '\n', generated)).toBe('/info/title');
    expect(firstOpenApiDifference(generated.replace('\n', '\n '), generated)).toBe('(formatting)');
  });

  it('the committed typed-client types are generated from the committed document (run `npm run openapi` if not)', async () => {
    const committed = await readFile(CLIENT_TYPES_PATH, 'utf8');
    const generated = await generateClientTypes(await readFile('openapi/openapi.json', 'utf8'));
    expect(committed === generated, `${CLIENT_TYPES_PATH} is stale: run npm run openapi`).toBe(true);
  });

  it('the types follow the document: a renamed field changes them', async () => {
    const doc = JSON.parse(await readFile('openapi/openapi.json', 'utf8')) as {
      components: { schemas: Record<string, { properties: Record<string, unknown>; required?: string[] }> };
    };
    const schema = doc.components.schemas.DeploymentDto;
    schema.properties.packageVersion = schema.properties.version;
    delete schema.properties.version;
    const types = await generateClientTypes(JSON.stringify(doc));
    expect(types).toContain('packageVersion');
    expect(types).not.toBe(await readFile(CLIENT_TYPES_PATH, 'utf8'));
  });
});
