import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Schemas } from '../api-client/index.js';
import {
  ApplyFileError,
  isSameDeployment,
  mergePatchBetween,
  parseApplyFile,
  planDeployment,
} from './apply.js';

const FILE = `apiVersion: margo-wfm/v1
kind: Deployment
name: line-monitor-plant-7
package: com-example-line-monitor
version: '2.1.0'
selector:
  matchLabels: { example.com/site: plant-7 }
parameters:
  siteId: DE-007
`;

const existing = (over: Partial<Schemas['DeploymentSummaryDto']> = {}): Schemas['DeploymentSummaryDto'] => ({
  id: '3f0b1c2e-0000-4000-8000-000000000001',
  applicationId: 'com-example-line-monitor',
  version: '2.1.0',
  profileId: null,
  parameters: { siteId: 'DE-007' },
  effectiveParameters: [],
  target: { selector: { matchLabels: { 'example.com/site': 'plant-7' } } },
  onCapabilityLoss: 'keep',
  revision: 1,
  targetCounts: {},
  createdAt: '2026-12-02T10:00:00.000Z',
  updatedAt: '2026-12-02T10:00:00.000Z',
  ...over,
});

describe('parseApplyFile', () => {
  it('reads a deployment file and a package in one multi-document file', () => {
    const docs = parseApplyFile(
      `kind: ApplicationDescription\nid: com-x\nmetadata: { name: X, version: '1.0' }\n---\n${FILE}`,
    );
    expect(docs.map((d) => d.kind)).toEqual(['package', 'deployment']);
    expect(docs[0]).toMatchObject({ applicationId: 'com-x', version: '1.0' });
    expect(docs[1]).toMatchObject({
      spec: { name: 'line-monitor-plant-7', package: 'com-example-line-monitor', onCapabilityLoss: 'keep' },
    });
  });

  it('names the field of a bad file', () => {
    const bad = (text: string) => {
      try {
        parseApplyFile(text);
      } catch (error) {
        return (error as ApplyFileError).pointer;
      }
      return 'no error';
    };
    expect(bad(FILE.replace("version: '2.1.0'", 'version: 2.1'))).toBe('/version');
    expect(bad(FILE + 'device: { clientId: a, deviceId: b }\n')).toBe('');
    expect(bad(FILE + 'parameter: {}\n')).toBe('/parameter');
    expect(bad('kind: Deploy\n')).toBe('/kind');
    expect(bad(`${FILE}---\nkind: Deployment\nselector: {}\n`)).toBe('/1/package');
  });
});

describe('planDeployment', () => {
  const spec = () => {
    const [doc] = parseApplyFile(FILE);
    if (doc.kind !== 'deployment') throw new Error('not a deployment');
    return doc.spec;
  };

  it('creates when nothing matches, with every line added', () => {
    const plan = planDeployment(spec());
    expect(plan.action).toBe('create');
    expect(plan.create).toMatchObject({ applicationId: 'com-example-line-monitor', version: '2.1.0' });
    expect(plan.diff.every((l) => l.startsWith('+ '))).toBe(true);
  });

  it('is unchanged for the same deployment whatever the key order', () => {
    expect(isSameDeployment(spec(), existing())).toBe(true);
    expect(planDeployment(spec(), existing())).toEqual({ action: 'unchanged', diff: [] });
  });

  it('patches only what differs and shows it', () => {
    const plan = planDeployment(
      spec(),
      existing({ version: '2.0.0', parameters: { siteId: 'DE-007', x: 1 } }),
    );
    expect(plan.action).toBe('update');
    // a JSON Merge Patch (RFC 7396): the dropped key is sent as null, the unchanged one not at all
    expect(plan.patch).toEqual({ version: '2.1.0', parameters: { x: null } });
    expect(plan.diff).toContain('- version: 2.0.0');
    expect(plan.diff).toContain('+ version: 2.1.0');
    expect(plan.diff).toContain('-   x: 1');
  });

  it('another target is another deployment', () => {
    expect(isSameDeployment(spec(), existing({ target: { clientId: 'line-7', deviceId: 'press-1' } }))).toBe(
      false,
    );
  });
});

describe('the examples', () => {
  it('examples/line-monitor/margo.yaml and deployment.yaml are files apply reads', () => {
    const pkg = parseApplyFile(readFileSync('examples/line-monitor/margo.yaml', 'utf8'));
    expect(pkg).toMatchObject([
      { kind: 'package', applicationId: 'com-example-line-monitor', version: '2.1.0' },
    ]);
    const dep = parseApplyFile(readFileSync('examples/line-monitor/deployment.yaml', 'utf8'));
    expect(dep).toMatchObject([
      { kind: 'deployment', spec: { package: 'com-example-line-monitor', version: '2.1.0' } },
    ]);
  });
});

describe('mergePatchBetween', () => {
  it('sends null for dropped keys, recurses into objects and leaves equal keys out', () => {
    expect(
      mergePatchBetween(
        { a: 1, b: 2, n: { x: 1, y: 2 }, same: [1] },
        { a: 3, n: { x: 1 }, same: [1], c: 'new' },
      ),
    ).toEqual({ a: 3, b: null, n: { y: null }, c: 'new' });
  });
});
