import { describe, expect, it } from 'vitest';
import { parseStatusReport } from './status.parser.js';

const options = { pathDeploymentId: 'dep-1', requireAdoptedVersion: true };

function parse(body: Record<string, unknown>) {
  return parseStatusReport(body, Buffer.from(JSON.stringify(body)), options);
}

const valid = {
  apiVersion: 'deployment.margo/v1',
  kind: 'DeploymentStatus',
  deploymentId: 'dep-1',
  adoptedManifestVersion: 3,
  status: { state: 'installed' },
  components: [{ name: 'web', state: 'installed' }],
};

describe('parseStatusReport field pointers', () => {
  it('accepts a valid report and keeps extension members out of the way', () => {
    const result = parse({ ...valid, 'x-acme-extensions': { shift: 2 } });
    expect(result).toMatchObject({ ok: true, report: { deploymentId: 'dep-1', state: 'installed' } });
  });

  it('points at unknown members with escaped RFC 6901 tokens', () => {
    const result = parse({ ...valid, 'a/b': 1, 'c~d': 2 });
    expect(result).toEqual({
      ok: false,
      errors: [
        { field: '/a~1b', message: 'is not a known field' },
        { field: '/c~0d', message: 'is not a known field' },
      ],
    });
  });

  it('refuses extension members inside status, its error and components', () => {
    const result = parse({
      ...valid,
      status: { state: 'failed', error: { code: 'E1', 'x-acme-extensions': {} } },
      components: [{ name: 'web', state: 'failed', 'x-acme-extensions': {} }],
    });
    expect(result).toEqual({
      ok: false,
      errors: [
        { field: '/status/error/x-acme-extensions', message: 'is not a known field' },
        { field: '/components/0/x-acme-extensions', message: 'is not a known field' },
      ],
    });
  });

  it('lists every problem, in document order', () => {
    const result = parse({ deploymentId: 'dep-2', status: { state: 'done' }, components: [{}] });
    expect(result).toEqual({
      ok: false,
      errors: [
        { field: '/deploymentId', message: 'must equal the deploymentId in the path (dep-1)' },
        { field: '/adoptedManifestVersion', message: 'is required' },
        {
          field: '/status/state',
          message: 'must be one of pending, installing, installed, failed, removing, removed',
        },
        { field: '/components/0/name', message: 'is required' },
        {
          field: '/components/0/state',
          message: 'must be one of pending, installing, installed, failed, removing, removed',
        },
      ],
    });
  });
});
