import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { CLIENT_TYPES_PATH, generateClientTypes } from '../../src/bin/openapi/client-types.js';
import { firstOpenApiDifference, generateOpenApiText } from '../../src/bin/openapi/generate.js';
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

interface Media {
  schema?: unknown;
  example?: unknown;
  examples?: unknown;
}
interface Operation {
  summary?: string;
  description?: string;
  security?: Record<string, unknown>[];
  requestBody?: { content: Record<string, Media> };
  responses: Record<string, { description?: string; content?: Record<string, Media> }>;
  'x-required-role'?: string;
}

describe('OpenAPI document for UI builders', () => {
  const load = async () =>
    JSON.parse(await readFile('openapi/openapi.json', 'utf8')) as {
      paths: Record<string, Record<string, Operation>>;
      tags: { name: string; description?: string }[];
      servers?: { url: string }[];
      components: { securitySchemes: Record<string, Record<string, unknown>> };
    };
  const operations = async () =>
    Object.entries((await load()).paths).flatMap(([path, item]) =>
      Object.entries(item).map(([method, op]) => ({ name: `${method.toUpperCase()} ${path}`, path, op })),
    );

  it('describes every operation and success response, with a schema, and every request body with an example', async () => {
    for (const { name, path, op } of await operations()) {
      // device reports (capabilities, status) answer with an empty body: no schema to give
      const emptyBody = /^\/api\/v1\/.*(capabilities|status)/.test(path) && !name.startsWith('GET');
      expect(op.description, name).toBeTruthy();
      expect(`${op.summary} ${op.description}`, name).not.toMatch(/\bD\d+\b/);
      const success = Object.entries(op.responses).filter(([status]) => /^2/.test(status));
      expect(success.length, name).toBeGreaterThan(0);
      for (const [status, response] of success) {
        expect(response.description, `${name} ${status}`).toBeTruthy();
        if (status !== '204' && status !== '202' && !emptyBody) {
          expect(
            Object.values(response.content ?? {}).some((m) => m.schema),
            `${name} ${status}`,
          ).toBe(true);
        }
      }
      for (const [type, media] of Object.entries(op.requestBody?.content ?? {})) {
        expect(
          media.example ?? media.examples ?? (media.schema as Media)?.example,
          `${name} ${type}`,
        ).toBeDefined();
      }
    }
  });

  it('names the required role of every operator operation (text and x-required-role)', async () => {
    const operator = (await operations()).filter((o) => o.path.startsWith('/operator/'));
    expect(operator.length).toBeGreaterThan(30);
    for (const { name, op } of operator) {
      expect(['viewer', 'operator', 'admin'], name).toContain(op['x-required-role']);
      expect(op.description, name).toContain(`Required role: \`${op['x-required-role']}\``);
      expect(op.security, name).toEqual([{ 'operator-token': [] }]);
    }
  });

  it('lists operator tags first, each described, has servers and no JWT claim for opaque tokens', async () => {
    const doc = await load();
    expect(doc.tags[0].name).toMatch(/^Operator/);
    for (const tag of doc.tags) expect(tag.description, tag.name).toBeTruthy();
    expect(doc.servers?.length).toBeGreaterThan(0);
    expect(doc.components.securitySchemes['operator-token']).not.toHaveProperty('bearerFormat');
    expect(doc.components.securitySchemes.mTLS).toMatchObject({ type: 'mutualTLS' });
  });

  it('answers every operator list as {items, next}', async () => {
    const doc = await load();
    const lists = Object.entries(doc.paths).filter(
      ([path, item]) =>
        path.startsWith('/operator/') &&
        item.get &&
        JSON.stringify(item.get.responses['200']?.content ?? {}).includes('PageDto'),
    );
    expect(lists.map(([path]) => path).sort()).toEqual(
      [
        '/operator/v1/applications',
        '/operator/v1/audit',
        '/operator/v1/clients',
        '/operator/v1/deployments',
        '/operator/v1/deployments/{id}/status-history',
        '/operator/v1/deployments/{id}/targets',
        '/operator/v1/devices',
        '/operator/v1/enrollment-requests',
        '/operator/v1/onboarding-requests',
        '/operator/v1/preauthorized-certificates',
        '/operator/v1/status/failing',
        '/operator/v1/status/orphans',
        '/operator/v1/tokens',
      ].sort(),
    );
  });
});
