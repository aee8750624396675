import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { sha256Digest } from '../../../../common/digest.js';
import type { DeploymentProfile, JsonValue } from '../../packages/domain.js';
import type { RenderInput } from './render.js';
import { SpecSegmentCache, renderApplicationDeployment, validateRenderedDeployment } from './render.js';

const ID = 'ad9b614e-8912-45f4-a523-372358765def';

function helmProfile(overrides: Partial<DeploymentProfile> = {}): DeploymentProfile {
  return {
    id: 'helm-a',
    type: 'helm',
    componentNames: ['database-services', 'digitron-orchestrator'],
    components: [
      {
        name: 'database-services',
        properties: {
          repository: 'oci://quay.io/charts/realtime-database-services',
          revision: '2.3.7',
          timeout: '8m30s',
          wait: true,
        },
      },
      {
        name: 'digitron-orchestrator',
        properties: {
          repository: 'oci://northstarida.azurecr.io/charts/digitron-orchestrator',
          revision: '1.0.9',
        },
      },
    ],
    requirements: { peripherals: [], interfaces: [] },
    eligibilityRules: [],
    extensions: {},
    ...overrides,
  };
}

function input(overrides: Partial<RenderInput> = {}): RenderInput {
  return {
    id: ID,
    applicationId: 'com-northstartida-digitron-orchestrator',
    name: 'com-northstartida-digitron-orchestrator-ad9b614e',
    namespace: 'margo-com-northstartida-digitron-orchestrator',
    deviceId: 'gateway-01/edge-01',
    profile: helmProfile(),
    parameters: {
      siteId: {
        value: 'SID-123-ABC',
        targets: [{ pointer: 'settings.siteId', components: ['digitron-orchestrator', 'database-services'] }],
      },
      adminName: {
        value: 'Some One',
        targets: [{ pointer: 'administrator.name', components: ['digitron-orchestrator'] }],
      },
      cpuLimit: {
        value: '4',
        targets: [{ pointer: 'settings.limits.cpu', components: ['digitron-orchestrator'] }],
      },
    },
    extensions: {},
    legacy: false,
    ...overrides,
  };
}

const render = (i: RenderInput): string => renderApplicationDeployment(i).toString('utf8');

/** Rebuilds a JSON value with every object's keys inserted in reverse order. */
function reverseKeys(value: JsonValue): JsonValue {
  if (Array.isArray(value)) return value.map(reverseKeys);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .reverse()
        .map((k) => [k, reverseKeys(value[k])]),
    );
  }
  return value;
}

const GOLDEN_RC3 = `id: ad9b614e-8912-45f4-a523-372358765def
metadata:
  name: com-northstartida-digitron-orchestrator-ad9b614e
  namespace: margo-com-northstartida-digitron-orchestrator
  deviceId: gateway-01/edge-01
spec:
  applicationId: com-northstartida-digitron-orchestrator
  deploymentProfile:
    type: helm
    components:
      - name: database-services
        properties:
          repository: oci://quay.io/charts/realtime-database-services
          revision: 2.3.7
          timeout: 8m30s
          wait: true
      - name: digitron-orchestrator
        properties:
          repository: oci://northstarida.azurecr.io/charts/digitron-orchestrator
          revision: 1.0.9
  parameters:
    adminName:
      value: Some One
      targets:
        - pointer: administrator.name
          components:
            - digitron-orchestrator
    cpuLimit:
      value: "4"
      targets:
        - pointer: settings.limits.cpu
          components:
            - digitron-orchestrator
    siteId:
      value: SID-123-ABC
      targets:
        - pointer: settings.siteId
          components:
            - digitron-orchestrator
            - database-services
`;

describe('renderApplicationDeployment', () => {
  it('writes the rc.3 layout in the fixed key order', () => {
    expect(render(input())).toBe(GOLDEN_RC3);
  });

  it('adds apiVersion, kind and metadata.annotations only for legacy clients', () => {
    const legacy = render(input({ legacy: true }));
    expect(legacy).toBe(
      'apiVersion: application.margo.org/v1alpha1\nkind: ApplicationDeployment\n' +
        GOLDEN_RC3.replace(
          'deviceId: gateway-01/edge-01\n',
          'deviceId: gateway-01/edge-01\n  annotations:\n' +
            `    id: ${ID}\n    applicationId: com-northstartida-digitron-orchestrator\n`,
        ),
    );
    const rc3 = parse(render(input())) as Record<string, unknown>;
    expect(rc3).not.toHaveProperty('apiVersion');
    expect(rc3).not.toHaveProperty('kind');
    expect(rc3.metadata).not.toHaveProperty('annotations');
  });

  it('is byte-stable: same input, same bytes and digest, every time', () => {
    const first = renderApplicationDeployment(input());
    for (let i = 0; i < 5; i++) {
      const again = renderApplicationDeployment(input());
      expect(again.equals(first)).toBe(true);
      expect(sha256Digest(again)).toBe(sha256Digest(first));
    }
  });

  it('renders the same bytes with the spec segment cache, for every device after the first', () => {
    const segments = new SpecSegmentCache();
    const multiLine = {
      value: 'line one\n  indented two\n\nafter a blank line\n',
      targets: [{ pointer: 'script', components: ['database-services'] }],
    };
    const shared = {
      ...input().parameters,
      script: multiLine,
      yes: { value: 'yes', targets: multiLine.targets },
    };
    const devices = ['edge-01', 'gw/child-2', 'yes', '0777', 'gw/*', 'edge with: colon'];
    for (const legacy of [false, true]) {
      for (const [i, deviceId] of devices.entries()) {
        const one = input({
          id: `ad9b614e-8912-45f4-a523-37235876500${i}`,
          deviceId,
          parameters: shared,
          legacy,
        });
        const cached = renderApplicationDeployment(one, { segments, key: 'deployment-1|rev-1' });
        expect(cached.toString('utf8')).toBe(render(one));
      }
    }
    // the first rendering stored the segment, every later one used it
    expect(segments.get('deployment-1|rev-1')).toMatch(/^spec:\n {2}applicationId: /);
  });

  it('does not depend on the key order of the objects it is given', () => {
    const ext: { [key: string]: JsonValue } = {
      'x-acme-extensions': { b: [{ z: 1, a: 2 }], a: { '10': 1, '9': 2 } },
    };
    const base = input({
      profile: helmProfile({
        extensions: ext,
        deviceConstraints: {
          capacityRequirements: { cpu: { cores: 1, architectures: ['amd64'] }, memory: '1Gi' },
        },
      }),
      extensions: ext,
      parameters: {
        ...input().parameters,
        obj: { value: { y: 1, x: [true] }, targets: [{ pointer: 'o', components: ['database-services'] }] },
      },
    });
    const profile = base.profile;
    const shuffled: RenderInput = {
      ...base,
      profile: {
        ...profile,
        components: profile.components.map((c) => reverseKeys(c) as { [key: string]: JsonValue }),
        deviceConstraints: reverseKeys(profile.deviceConstraints ?? null),
        extensions: reverseKeys(profile.extensions) as { [key: string]: JsonValue },
      },
      parameters: Object.fromEntries(
        Object.entries(base.parameters)
          .reverse()
          .map(([k, p]) => [k, { ...p, value: reverseKeys(p.value) }]),
      ),
      extensions: reverseKeys(base.extensions) as { [key: string]: JsonValue },
    };
    expect(renderApplicationDeployment(shuffled).equals(renderApplicationDeployment(base))).toBe(true);
  });

  it('sorts parameters by name and keeps components in package order', () => {
    const doc = parse(render(input())) as {
      spec: { parameters: object; deploymentProfile: { components: { name: string }[] } };
    };
    expect(Object.keys(doc.spec.parameters)).toEqual(['adminName', 'cpuLimit', 'siteId']);
    const reversed = helmProfile();
    reversed.components.reverse();
    const names = (
      parse(render(input({ profile: reversed }))) as typeof doc
    ).spec.deploymentProfile.components.map((c) => c.name);
    expect(names).toEqual(['digitron-orchestrator', 'database-services']);
  });

  it("keeps only targets on the chosen profile's components and drops parameters left without targets", () => {
    const text = render(
      input({
        parameters: {
          shared: {
            value: 'x',
            targets: [
              { pointer: 'a.b', components: ['compose-app', 'database-services'] },
              { pointer: 'A_B', components: ['compose-app'] },
            ],
          },
          composeOnly: { value: 1, targets: [{ pointer: 'ONLY', components: ['compose-app'] }] },
        },
      }),
    );
    const doc = parse(text) as { spec: { parameters: Record<string, unknown> } };
    expect(doc.spec.parameters).toEqual({
      shared: { value: 'x', targets: [{ pointer: 'a.b', components: ['database-services'] }] },
    });
  });

  it('writes an empty parameters map when there are none', () => {
    expect(render(input({ parameters: {} }))).toContain('\n  parameters: {}\n');
  });

  it('copies deviceConstraints verbatim, and only when the package has them', () => {
    expect(render(input())).not.toContain('deviceConstraints');
    const deviceConstraints: JsonValue = {
      capacityRequirements: {
        cpu: { cores: 1.5, architectures: ['amd64', 'arm64'] },
        memory: '1024Mi',
        storage: '5Gi',
      },
      eligibilityRules: [
        {
          propertySelector: {
            matchExpressions: [{ key: '/vendor', operator: 'In', values: ['EdgeCircuit Systems'] }],
          },
          labelSelector: {
            matchExpressions: [{ key: 'example.com/hyper-v.host', operator: 'In', values: [true] }],
          },
        },
      ],
    };
    const doc = parse(render(input({ profile: helmProfile({ deviceConstraints }) }))) as {
      spec: { deploymentProfile: Record<string, unknown> };
    };
    expect(doc.spec.deploymentProfile.deviceConstraints).toEqual(deviceConstraints);
    expect(Object.keys(doc.spec.deploymentProfile)).toEqual(['type', 'components', 'deviceConstraints']);
  });

  describe('extensions', () => {
    const odd: { [key: string]: JsonValue } = {
      nested: { deeper: { list: [1, 'two', { three: [null, false] }], empty: {}, none: [] } },
      yes: 'no',
      '<<': { merge: 'not really' },
      '1': 'one',
      'a: b': '#not a comment',
      '': 'empty key',
      'ünïcödé ✓': '0777',
      'multi-line': 'line 1\nline 2\n',
      'quoted "key"': "it's",
      dates: [
        '2024-01-01',
        '12:30',
        '1e3',
        '0o17',
        '0x1F',
        '+12',
        '.inf',
        '~',
        'null',
        'True',
        'ON',
        '1_000',
        '=',
      ],
      numbers: [0, -1, 1.5, 1e21, 1e-7, 9007199254740991],
      ...(JSON.parse('{"__proto__": {"polluted": true}}') as { [key: string]: JsonValue }),
    };
    const withExtensions = input({
      extensions: { 'x-wfm-extensions': odd, 'x-acme-extensions': { owner: 'plant-7' } },
      profile: helmProfile({
        extensions: { 'x-acme-extensions': odd },
        components: helmProfile().components.map((c, i) =>
          i === 0 ? { ...c, 'x-acme-extensions': odd } : c,
        ),
      }),
    });

    it('are copied verbatim at package, profile and component level (nested objects, odd keys and values)', () => {
      for (const version of ['1.1', '1.2'] as const) {
        const doc = parse(render(withExtensions), { version, merge: false }) as {
          spec: Record<string, JsonValue> & {
            deploymentProfile: Record<string, JsonValue> & { components: Record<string, JsonValue>[] };
          };
        };
        expect(doc.spec['x-wfm-extensions'], version).toEqual(odd);
        expect(doc.spec['x-acme-extensions']).toEqual({ owner: 'plant-7' });
        expect(doc.spec.deploymentProfile['x-acme-extensions'], version).toEqual(odd);
        expect(doc.spec.deploymentProfile.components[0]['x-acme-extensions'], version).toEqual(odd);
        expect(doc.spec.deploymentProfile.components[1]).not.toHaveProperty('x-acme-extensions');
      }
      expect(Object.prototype).not.toHaveProperty('polluted');
    });

    it('go after the fixed keys, sorted', () => {
      const doc = parse(render(withExtensions)) as { spec: Record<string, unknown> };
      expect(Object.keys(doc.spec)).toEqual([
        'applicationId',
        'deploymentProfile',
        'parameters',
        'x-acme-extensions',
        'x-wfm-extensions',
      ]);
    });

    it('quote YAML 1.1 look-alikes, leave ordinary strings plain, give exponents a fraction', () => {
      const text = render(withExtensions);
      for (const quoted of [
        '"yes": "no"',
        '"<<":',
        '"1": one',
        '- "2024-01-01"',
        '- "12:30"',
        '- "0o17"',
        '- "="',
      ]) {
        expect(text).toContain(quoted);
      }
      expect(text).toContain('revision: 2.3.7\n');
      expect(text).toContain('ünïcödé ✓: "0777"');
      expect(text).toContain('multi-line: |\n');
      // Exponent numbers carry a fraction so that YAML 1.1 parsers read them as floats.
      expect(text).toContain('- 1.0e+21\n');
      expect(text).toContain('- 1.0e-7\n');
      expect(text).toContain('- 1.5\n');
    });

    it('may not replace a fixed field', () => {
      expect(() => render(input({ extensions: { parameters: {} } }))).toThrow('collides');
      expect(() => render(input({ profile: helmProfile({ extensions: { type: 'compose' } }) }))).toThrow(
        'collides',
      );
    });
  });

  it('never emits anchors or aliases for repeated objects', () => {
    const shared = { a: 1 };
    const text = render(
      input({
        parameters: {
          p1: { value: shared, targets: [{ pointer: 'x', components: ['database-services'] }] },
          p2: { value: shared, targets: [{ pointer: 'y', components: ['database-services'] }] },
        },
      }),
    );
    expect(text).not.toMatch(/[&*][a-z]/);
  });

  it('does not fold long lines and uses \\n line ends with a trailing newline', () => {
    const long = 'word '.repeat(60).trim();
    const text = render(input({ extensions: { 'x-wfm-extensions': { long } } }));
    expect(text).toContain(`long: ${long}\n`);
    expect(text).not.toContain('\r');
    expect(text.endsWith('\n')).toBe(true);
    expect(text.endsWith('\n\n')).toBe(false);
  });

  it('refuses values that are not JSON', () => {
    const bad = { 'x-wfm-extensions': { n: Number.NaN } };
    expect(() => render(input({ extensions: bad }))).toThrow('non-finite number at /spec/x-wfm-extensions/n');
  });
});

describe('validateRenderedDeployment', () => {
  const valid = (i: RenderInput) => validateRenderedDeployment(parse(render(i)));

  it('accepts rc.3 and legacy renderings, directed and autonomous gateway targets', () => {
    expect(valid(input())).toEqual([]);
    expect(valid(input({ legacy: true }))).toEqual([]);
    expect(valid(input({ deviceId: 'gateway-01/*' }))).toEqual([]);
    expect(valid(input({ deviceId: 'edge-01' }))).toEqual([]);
    expect(
      valid(
        input({
          extensions: { 'x-wfm-extensions': { a: 1 } },
          profile: helmProfile({
            extensions: { 'x-acme-extensions': { b: 2 } },
            deviceConstraints: {
              capacityRequirements: {
                cpu: { cores: 0.5, architectures: ['arm64'] },
                memory: '256Mi',
                storage: '1Gi',
              },
              eligibilityRules: [
                {
                  propertySelector: {
                    matchExpressions: [
                      {
                        key: '/peripherals',
                        operator: 'ContainsAll',
                        itemSelector: {
                          matchExpressions: [{ key: '/type', operator: 'In', values: ['gpu'] }],
                        },
                      },
                    ],
                  },
                },
              ],
            },
          }),
        }),
      ),
    ).toEqual([]);
  });

  it('accepts the gateway examples (compose with packageLocation: skipped component-property rules)', () => {
    for (const deviceId of ['gateway-01/edge-01', 'gateway-01/*']) {
      const doc = parse(`id: ad9b614e-8912-45f4-a523-372358765def
metadata:
    name: com-northstartida-digitron-orchestrator-deployment
    namespace: margo-poc
    deviceId: ${deviceId}
spec:
    applicationId: com-northstartida-digitron-orchestrator
    deploymentProfile:
        type: compose
        components:
            - name: digitron-orchestrator-docker
              properties:
                keyLocation: https://northsitarida.com/digitron/docker/public-key.asc
                packageLocation: https://northsitarida.com/digitron/docker/digitron-orchestrator.tar.gz
    parameters:
        adminName:
            value: Some One
            targets:
                - pointer: ADMIN_NAME
                  components:
                    - digitron-orchestrator-docker
`);
      expect(validateRenderedDeployment(doc), deviceId).toEqual([]);
    }
  });

  /** A valid rc.3 document to break one field at a time. */
  const base = () => parse(render(input())) as Record<string, Record<string, unknown>>;
  const spec = (doc: Record<string, Record<string, unknown>>) =>
    doc.spec as Record<string, Record<string, unknown>>;

  it.each([
    ['id missing', (d: Record<string, Record<string, unknown>>) => delete d.id, '/id: is required'],
    ['id not a UUID', (d) => (d.id = 'dep-1' as never), '/id: must match'],
    ['deviceId with * inside', (d) => (d.metadata.deviceId = 'gw/*/x'), '/metadata/deviceId: must match'],
    ['deviceId with a trailing /', (d) => (d.metadata.deviceId = 'gw/'), '/metadata/deviceId: must match'],
    ['name missing', (d) => delete d.metadata.name, '/metadata/name: is required'],
    ['namespace not a string', (d) => (d.metadata.namespace = 7), '/metadata/namespace: must be a string'],
    [
      'applicationId with dots',
      (d) => (d.spec.applicationId = 'com.example.app'),
      '/spec/applicationId: must match',
    ],
    [
      'type custom',
      (d) => (spec(d).deploymentProfile.type = 'custom'),
      '/spec/deploymentProfile/type: must be helm or compose',
    ],
    [
      'no components',
      (d) => (spec(d).deploymentProfile.components = []),
      '/spec/deploymentProfile/components: must be a non-empty list',
    ],
    [
      'component without properties',
      (d) => ((spec(d).deploymentProfile.components as Record<string, unknown>[])[0].properties = undefined),
      '/spec/deploymentProfile/components/0/properties: is required',
    ],
    [
      'unknown component key',
      (d) => ((spec(d).deploymentProfile.components as Record<string, unknown>[])[0].chart = 'x'),
      '/spec/deploymentProfile/components/0/chart: is not allowed',
    ],
    ['unknown spec key', (d) => (d.spec.extra = 1), '/spec/extra: is not allowed'],
    [
      'extension not an object',
      (d) => (d.spec['x-acme-extensions'] = 'x'),
      '/spec/x-acme-extensions: an extension must be an object',
    ],
    [
      'parameter value missing',
      (d) => delete (spec(d).parameters.cpuLimit as Record<string, unknown>).value,
      '/spec/parameters/cpuLimit/value: is required',
    ],
    [
      'target naming another component',
      (d) =>
        ((spec(d).parameters.cpuLimit as { targets: { components: string[] }[] }).targets[0].components = [
          'nope',
        ]),
      '/spec/parameters/cpuLimit/targets/0/components/0: names no component of the profile',
    ],
    [
      'apiVersion without legacy fields',
      (d) => (d.apiVersion = 'x' as never),
      '/apiVersion: must be application.margo.org/v1alpha1',
    ],
    [
      'annotations without apiVersion',
      (d) => (d.metadata.annotations = { id: ID }),
      '/kind: must be ApplicationDeployment',
    ],
    [
      'bad memory in deviceConstraints',
      (d) => (spec(d).deploymentProfile.deviceConstraints = { capacityRequirements: { memory: '1G' } }),
      '/spec/deploymentProfile/deviceConstraints/capacityRequirements/memory: must match',
    ],
    [
      'bad operator in deviceConstraints',
      (d) =>
        (spec(d).deploymentProfile.deviceConstraints = {
          eligibilityRules: [{ labelSelector: { matchExpressions: [{ key: 'k', operator: 'Equals' }] } }],
        }),
      '/spec/deploymentProfile/deviceConstraints/eligibilityRules/0/labelSelector/matchExpressions/0/operator: must be one of',
    ],
  ])('rejects: %s', (_name, breakIt, expected) => {
    const doc = base();
    breakIt(doc);
    const problems = validateRenderedDeployment(doc);
    expect(
      problems.some((p) => p.startsWith(expected)),
      problems.join('\n'),
    ).toBe(true);
  });

  it('rejects legacy annotations that disagree with id and applicationId', () => {
    const doc = parse(render(input({ legacy: true }))) as Record<
      string,
      Record<string, Record<string, unknown>>
    >;
    doc.metadata.annotations.id = '00000000-0000-4000-8000-000000000000';
    doc.metadata.annotations.applicationId = 'other';
    expect(validateRenderedDeployment(doc)).toEqual([
      '/metadata/annotations/id: must equal id',
      '/metadata/annotations/applicationId: must equal spec.applicationId',
    ]);
  });

  it('rejects what is not a document', () => {
    expect(validateRenderedDeployment(null)).toEqual(['/: must be an object']);
    expect(validateRenderedDeployment({})).toEqual([
      '/id: is required',
      '/metadata: is required',
      '/spec: is required',
    ]);
  });
});
