import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
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
});
