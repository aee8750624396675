import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { JsonValue } from './domain.js';
import { parseApplicationDescription } from './application-description.js';

const examples = resolve(import.meta.dirname, '../../../../reference/margo/examples');
const example = (path: string): string => readFileSync(resolve(examples, path), 'utf8');

/** A newer-shape description: top-level id, compose + helm profiles, both constraint forms, configuration. */
const NEWER = `
apiVersion: margo.org/v1-alpha1
kind: ApplicationDescription
id: com-acme-line-monitor
metadata:
  name: Line Monitor
  description: Watches the production line.
  version: 2.1.0
  catalog:
    organization:
      - name: Acme
deploymentProfiles:
  - type: compose
    id: compose-arm
    description: Compose on small devices
    components:
      - name: monitor
        properties:
          packageLocation: https://example.com/monitor.tar.gz
          keyLocation: https://example.com/monitor.asc
          wait: "true"
        x-acme-extensions:
          priority: high
    deviceConstraints:
      capacityRequirements:
        cpu:
          cores: 0.5
          architectures: [aarch64, arm, arm64]
        memory: 512Mi
        storage: 2Gi
      eligibilityRules:
        - propertySelector:
            matchExpressions:
              - key: /vendor
                operator: In
                values: [Acme, Globex]
              - key: /peripherals
                operator: ContainsAny
                itemSelector:
                  matchExpressions:
                    - key: /type
                      operator: In
                      values: [camera]
          labelSelector:
            matchExpressions:
              - key: example.com/floor
                operator: Gt
                values: ["1"]
              - key: example.com/quarantine
                operator: DoesNotExist
    x-acme-extensions:
      channel: beta
  - type: helm
    id: helm-amd64
    components:
      - name: monitor
        properties:
          repository: oci://registry.example.com/charts/monitor
          revision: 2.1.0
          timeout: 5m0s
      - name: db
        properties:
          repository: oci://registry.example.com/charts/db
          revision: 1.0.0
    requiredResources:
      cpu:
        cores: 2
        architectures: [x86_64]
      memory: 4Gi
      storage: 20Gi
      peripherals:
        - type: gpu
          manufacturer: NVIDIA
      interfaces:
        - type: ethernet
parameters:
  sampleRate:
    value: 10
    targets:
      - pointer: monitor.sampleRate
        components: [monitor]
      - pointer: SAMPLE_RATE
        components: [monitor]
  threshold:
    value: 0.75
    targets:
      - pointer: monitor.threshold
        components: [monitor]
  mode:
    value: fast
    targets:
      - pointer: monitor.mode
        components: [monitor]
  alerts:
    value: true
    targets:
      - pointer: monitor.alerts
        components: [monitor]
  siteCode:
    targets:
      - pointer: db.site
        components: [db]
  zones:
    value: [north]
    targets:
      - pointer: db.zones
        components: [db]
  logLevel:
    value: info
    targets:
      - pointer: LOG_LEVEL
        components: [monitor, db]
configuration:
  sections:
    - name: Sampling
      settings:
        - parameter: sampleRate
          name: Sample rate
          description: Samples per second.
          schema: rate
        - parameter: threshold
          name: Threshold
          schema: ratio
    - name: Behaviour
      settings:
        - parameter: mode
          name: Mode
          schema: modes
        - parameter: alerts
          name: Alerts
          schema: flag
        - parameter: siteCode
          name: Site code
          immutable: true
          schema: code
        - parameter: zones
          name: Zones
          schema: zoneList
  schema:
    - name: rate
      dataType: integer
      minValue: 1
      maxValue: 100
    - name: ratio
      dataType: double
      minValue: 0
      maxValue: 1
      maxPrecision: 2
    - name: modes
      dataType: string
      options: [fast, accurate]
    - name: flag
      dataType: boolean
    - name: code
      dataType: string
      allowEmpty: false
      minLength: 5
      maxLength: 12
      regexMatch: ^[A-Z]{3}-[0-9]+$
    - name: zoneList
      dataType: string
      multiselect: true
      options: [north, south, east]
x-acme-extensions:
  support: https://acme.example.com
`;

type Doc = { [key: string]: JsonValue };
const newerDoc = (): Doc => parseYaml(NEWER) as Doc;

/** Navigates a test document by path (for the broken-variant mutations). */
function at(doc: JsonValue, ...path: (string | number)[]): Doc {
  let node: JsonValue = doc;
  for (const key of path) node = (node as Record<string | number, JsonValue>)[key];
  return node as Doc;
}

const parseJson = (doc: JsonValue) => parseApplicationDescription(JSON.stringify(doc), 'json');

describe('parseApplicationDescription: the spec examples', () => {
  it('accepts ApplicationDescription-helm_only.yaml (older shape: metadata.id, helm.v3)', () => {
    const result = parseApplicationDescription(
      example('valid/model/ApplicationDescription-helm_only.yaml'),
      'yaml',
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const { pkg } = result;
    expect(pkg).toMatchObject({
      applicationId: 'com-northstartida-hello-world',
      name: 'Hello World',
      version: '1.0',
      description: 'A basic hello world application',
      extensions: {},
    });
    expect(pkg.profiles).toHaveLength(1);
    expect(pkg.profiles[0]).toEqual({
      id: 'com-northstartida-hello-world-helm.v3-a',
      type: 'helm',
      components: [
        {
          name: 'hello-world',
          properties: {
            repository: 'oci://northstarida.azurecr.io/charts/hello-world',
            revision: '1.0.1',
            wait: true,
          },
        },
      ],
      componentNames: ['hello-world'],
      requirements: { peripherals: [], interfaces: [] },
      eligibilityRules: [],
      extensions: {},
    });
    expect(Object.keys(pkg.parameters)).toEqual(['greeting', 'greetingAddressee']);
    expect(pkg.parameters.greeting).toEqual({
      value: 'Hello',
      targets: [{ pointer: 'global.config.appGreeting', components: ['hello-world'] }],
    });
    expect(pkg.settings).toEqual([
      {
        parameter: 'greeting',
        name: 'Greeting',
        description: 'The greeting to use.',
        immutable: false,
        schema: 'requireText',
        section: 'General Settings',
      },
      {
        parameter: 'greetingAddressee',
        name: 'Greeting Addressee',
        description: 'The person, or group, the greeting addresses.',
        immutable: false,
        schema: 'requireText',
        section: 'General Settings',
      },
    ]);
    expect(pkg.schema).toEqual([
      { name: 'requireText', dataType: 'string', maxLength: 45, allowEmpty: false },
    ]);
    expect(result.document).toMatchObject({ kind: 'ApplicationDescription', metadata: { version: '1.0' } });
  });

  it('accepts the same example given as JSON', () => {
    const doc = parseYaml(example('valid/model/ApplicationDescription-helm_only.yaml')) as JsonValue;
    const result = parseJson(doc);
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.document).toEqual(doc);
  });

  it('rejects ApplicationDescription-001.yaml (kind ApplicationSpecification) at /kind', () => {
    const result = parseApplicationDescription(
      example('invalid/model/ApplicationDescription-001.yaml'),
      'yaml',
    );
    expect(result).toMatchObject({ ok: false, status: 422 });
    if (result.ok) return;
    expect(result.errors).toEqual([{ field: '/kind', message: 'must be ApplicationDescription' }]);
    expect(result.detail).toMatch(/1 error/);
  });
});

describe('parseApplicationDescription: newer shape', () => {
  const result = parseApplicationDescription(NEWER, 'yaml');
  const pkg = result.ok ? result.pkg : undefined;

  it('is accepted', () => {
    expect(result.ok ? [] : result.errors).toEqual([]);
  });

  it('takes the top-level id, metadata, and top-level extensions', () => {
    expect(pkg).toMatchObject({
      applicationId: 'com-acme-line-monitor',
      name: 'Line Monitor',
      version: '2.1.0',
      description: 'Watches the production line.',
      extensions: { 'x-acme-extensions': { support: 'https://acme.example.com' } },
    });
  });

  it('normalises a compose profile with deviceConstraints (capacity + eligibility rules)', () => {
    const profile = pkg!.profiles[0];
    expect(profile).toMatchObject({
      id: 'compose-arm',
      type: 'compose',
      description: 'Compose on small devices',
      componentNames: ['monitor'],
      extensions: { 'x-acme-extensions': { channel: 'beta' } },
    });
    expect(profile.components[0]).toEqual({
      name: 'monitor',
      properties: {
        packageLocation: 'https://example.com/monitor.tar.gz',
        keyLocation: 'https://example.com/monitor.asc',
        wait: 'true',
      },
      'x-acme-extensions': { priority: 'high' },
    });
    expect(profile.requirements).toEqual({
      cores: 0.5,
      architectures: ['arm64', 'arm'],
      memoryBytes: 512n * 1024n ** 2n,
      memoryText: '512Mi',
      storageBytes: 2n * 1024n ** 3n,
      storageText: '2Gi',
      peripherals: [],
      interfaces: [],
    });
    expect(profile.eligibilityRules).toEqual([
      {
        propertySelector: {
          matchExpressions: [
            { key: '/vendor', operator: 'In', values: ['Acme', 'Globex'] },
            {
              key: '/peripherals',
              operator: 'ContainsAny',
              itemSelector: { matchExpressions: [{ key: '/type', operator: 'In', values: ['camera'] }] },
            },
          ],
        },
        labelSelector: {
          matchExpressions: [
            { key: 'example.com/floor', operator: 'Gt', values: [1] },
            { key: 'example.com/quarantine', operator: 'DoesNotExist' },
          ],
        },
      },
    ]);
    // Kept verbatim (the Gt operand stays the string the package wrote).
    expect(profile.deviceConstraints).toEqual(at(newerDoc(), 'deploymentProfiles', 0, 'deviceConstraints'));
  });

  it('normalises a helm profile with the older requiredResources', () => {
    const profile = pkg!.profiles[1];
    expect(profile).toMatchObject({ id: 'helm-amd64', type: 'helm', componentNames: ['monitor', 'db'] });
    expect(profile.deviceConstraints).toBeUndefined();
    expect(profile.eligibilityRules).toEqual([]);
    expect(profile.requirements).toEqual({
      cores: 2,
      architectures: ['amd64'],
      memoryBytes: 4n * 1024n ** 3n,
      memoryText: '4Gi',
      storageBytes: 20n * 1024n ** 3n,
      storageText: '20Gi',
      peripherals: [{ type: 'gpu', manufacturer: 'NVIDIA' }],
      interfaces: ['ethernet'],
    });
    expect(profile.extensions).toEqual({});
  });

  it('reads parameters (with and without defaults) and their targets', () => {
    expect(Object.keys(pkg!.parameters)).toEqual([
      'sampleRate',
      'threshold',
      'mode',
      'alerts',
      'siteCode',
      'zones',
      'logLevel',
    ]);
    expect(pkg!.parameters.sampleRate).toEqual({
      value: 10,
      targets: [
        { pointer: 'monitor.sampleRate', components: ['monitor'] },
        { pointer: 'SAMPLE_RATE', components: ['monitor'] },
      ],
    });
    expect(pkg!.parameters.siteCode).toEqual({ targets: [{ pointer: 'db.site', components: ['db'] }] });
    expect(pkg!.parameters.zones.value).toEqual(['north']);
  });

  it('reads settings (section, immutable default false) and schema rules', () => {
    expect(pkg!.settings.map((s) => [s.parameter, s.section, s.immutable, s.schema])).toEqual([
      ['sampleRate', 'Sampling', false, 'rate'],
      ['threshold', 'Sampling', false, 'ratio'],
      ['mode', 'Behaviour', false, 'modes'],
      ['alerts', 'Behaviour', false, 'flag'],
      ['siteCode', 'Behaviour', true, 'code'],
      ['zones', 'Behaviour', false, 'zoneList'],
    ]);
    expect(pkg!.settings[0].description).toBe('Samples per second.');
    expect(pkg!.schema).toEqual([
      { name: 'rate', dataType: 'integer', minValue: 1, maxValue: 100 },
      { name: 'ratio', dataType: 'double', minValue: 0, maxValue: 1, maxPrecision: 2 },
      { name: 'modes', dataType: 'string', options: ['fast', 'accurate'] },
      { name: 'flag', dataType: 'boolean' },
      {
        name: 'code',
        dataType: 'string',
        allowEmpty: false,
        minLength: 5,
        maxLength: 12,
        regexMatch: '^[A-Z]{3}-[0-9]+$',
      },
      { name: 'zoneList', dataType: 'string', multiselect: true, options: ['north', 'south', 'east'] },
    ]);
  });

  it('returns the parsed document unchanged', () => {
    expect(result.ok && result.document).toEqual(newerDoc());
  });

  it('does not share objects between the package and the document', () => {
    if (!result.ok) throw new Error('expected ok');
    expect(result.pkg.profiles[0].components[0]).not.toBe(
      at(result.document, 'deploymentProfiles', 0, 'components', 0),
    );
  });

  it('accepts the same description as JSON', () => {
    const json = parseJson(newerDoc());
    expect(json.ok).toBe(true);
    if (json.ok) expect(json.pkg).toEqual(pkg);
  });
});

describe('parseApplicationDescription: lenient older forms', () => {
  it('turns a numeric YAML version into its source text (1.10 stays "1.10")', () => {
    const yaml = NEWER.replace('version: 2.1.0', 'version: 1.10');
    const result = parseApplicationDescription(yaml, 'yaml');
    expect(result.ok && result.pkg.version).toBe('1.10');
    expect(result.ok && at(result.document, 'metadata').version).toBe(1.1);
  });

  it('turns a numeric JSON version into String(n)', () => {
    const doc = newerDoc();
    at(doc, 'metadata').version = 3;
    const result = parseJson(doc);
    expect(result.ok && result.pkg.version).toBe('3');
  });

  it('accepts equal top-level and metadata ids, no catalog, no kind/apiVersion, no configuration', () => {
    const doc = newerDoc();
    at(doc, 'metadata').id = 'com-acme-line-monitor';
    delete at(doc, 'metadata').catalog;
    delete doc.kind;
    delete doc.apiVersion;
    delete doc.configuration;
    delete at(doc, 'parameters').zones; // an array default needs a schema rule that allows arrays
    const result = parseJson(doc);
    expect(result.ok ? [] : result.errors).toEqual([]);
    expect(result.ok && result.pkg.settings).toEqual([]);
  });

  it('keeps component properties it does not check (no rc.3 oci:// rule)', () => {
    const doc = newerDoc();
    at(doc, 'deploymentProfiles', 1, 'components', 0, 'properties').repository = 'https://charts.example.com';
    expect(parseJson(doc).ok).toBe(true);
  });

  it('accepts a custom profile that carries an eligibility rule', () => {
    const doc = newerDoc();
    at(doc, 'deploymentProfiles', 0).type = 'custom';
    const result = parseJson(doc);
    expect(result.ok && result.pkg.profiles[0].type).toBe('custom');
  });

  it('accepts a few YAML aliases (shared properties)', () => {
    const yaml = `
id: app
metadata: {name: App, version: "1"}
deploymentProfiles:
  - type: helm
    id: a
    components:
      - name: one
        properties: &props {repository: oci://r/one, revision: 1.0.0}
  - type: compose
    id: b
    components:
      - name: one
        properties: *props
`;
    const result = parseApplicationDescription(yaml, 'yaml');
    expect(result.ok && result.pkg.profiles[1].components[0].properties).toEqual({
      repository: 'oci://r/one',
      revision: '1.0.0',
    });
  });
});

type Mutation = (doc: Doc) => void;
const profile = (doc: Doc, i: number): Doc => at(doc, 'deploymentProfiles', i);
const labelExpr = (doc: Doc, j: number): Doc =>
  at(profile(doc, 0), 'deviceConstraints', 'eligibilityRules', 0, 'labelSelector', 'matchExpressions', j);
const propertyExpr = (doc: Doc, j: number): Doc =>
  at(profile(doc, 0), 'deviceConstraints', 'eligibilityRules', 0, 'propertySelector', 'matchExpressions', j);
const rule = (doc: Doc, i: number): Doc => at(doc, 'configuration', 'schema', i);
const setting = (doc: Doc, s: number, i: number): Doc =>
  at(doc, 'configuration', 'sections', s, 'settings', i);
const RULES0 = '/deploymentProfiles/0/deviceConstraints/eligibilityRules/0';

const BROKEN: [string, Mutation, string][] = [
  ['bad id', (d) => (d.id = 'Com_Acme'), '/id'],
  ['missing id', (d) => delete d.id, '/id'],
  ['metadata.id differing from id', (d) => (at(d, 'metadata').id = 'other'), '/metadata/id'],
  ['wrong kind', (d) => (d.kind = 'ApplicationDeployment'), '/kind'],
  ['apiVersion not a string', (d) => (d.apiVersion = 1), '/apiVersion'],
  ['unknown top-level key', (d) => (d.spec = {}), '/spec'],
  ['misspelt extension', (d) => (d['x-Acme-extensions'] = {}), '/x-Acme-extensions'],
  ['missing metadata.name', (d) => delete at(d, 'metadata').name, '/metadata/name'],
  ['missing metadata.version', (d) => delete at(d, 'metadata').version, '/metadata/version'],
  ['boolean metadata.version', (d) => (at(d, 'metadata').version = true), '/metadata/version'],
  ['unknown metadata key', (d) => (at(d, 'metadata').owner = 'me'), '/metadata/owner'],
  [
    'organization without name',
    (d) => (at(d, 'metadata', 'catalog').organization = [{}]),
    '/metadata/catalog/organization/0/name',
  ],
  ['no deploymentProfiles', (d) => delete d.deploymentProfiles, '/deploymentProfiles'],
  ['empty deploymentProfiles', (d) => (d.deploymentProfiles = []), '/deploymentProfiles'],
  ['duplicate profile id', (d) => (profile(d, 1).id = 'compose-arm'), '/deploymentProfiles/1/id'],
  ['missing profile id', (d) => delete profile(d, 1).id, '/deploymentProfiles/1/id'],
  ['unknown profile type', (d) => (profile(d, 1).type = 'helm.v4'), '/deploymentProfiles/1/type'],
  ['unknown profile key', (d) => (profile(d, 1).runtime = 'k3s'), '/deploymentProfiles/1/runtime'],
  ['no components', (d) => (profile(d, 1).components = []), '/deploymentProfiles/1/components'],
  [
    'component name with capitals',
    (d) => (at(profile(d, 1), 'components', 1).name = 'DataBase'),
    '/deploymentProfiles/1/components/1/name',
  ],
  [
    'duplicate component name',
    (d) => (at(profile(d, 1), 'components', 1).name = 'monitor'),
    '/deploymentProfiles/1/components/1/name',
  ],
  [
    'component properties not an object',
    (d) => (at(profile(d, 1), 'components', 0).properties = 'oci://x'),
    '/deploymentProfiles/1/components/0/properties',
  ],
  [
    'unknown component key',
    (d) => (at(profile(d, 1), 'components', 0).image = 'x'),
    '/deploymentProfiles/1/components/0/image',
  ],
  [
    'custom profile without eligibility rule',
    (d) => (profile(d, 1).type = 'custom'),
    '/deploymentProfiles/1/deviceConstraints',
  ],
  [
    'custom profile with capacity only',
    (d) => {
      profile(d, 0).type = 'custom';
      delete at(profile(d, 0), 'deviceConstraints').eligibilityRules;
    },
    '/deploymentProfiles/0/deviceConstraints/eligibilityRules',
  ],
  [
    'requiredResources with deviceConstraints',
    (d) => (profile(d, 0).requiredResources = {}),
    '/deploymentProfiles/0/requiredResources',
  ],
  [
    'memory 16 gigs',
    (d) => (at(profile(d, 0), 'deviceConstraints', 'capacityRequirements').memory = '16 gigs'),
    '/deploymentProfiles/0/deviceConstraints/capacityRequirements/memory',
  ],
  [
    'storage as a number',
    (d) => (at(profile(d, 1), 'requiredResources').storage = 1024),
    '/deploymentProfiles/1/requiredResources/storage',
  ],
  [
    'zero cores',
    (d) => (at(profile(d, 1), 'requiredResources', 'cpu').cores = 0),
    '/deploymentProfiles/1/requiredResources/cpu/cores',
  ],
  [
    'cpu without cores',
    (d) => delete at(profile(d, 1), 'requiredResources', 'cpu').cores,
    '/deploymentProfiles/1/requiredResources/cpu/cores',
  ],
  [
    'unknown architecture',
    (d) => (at(profile(d, 1), 'requiredResources', 'cpu').architectures = ['amd64', 'sparc']),
    '/deploymentProfiles/1/requiredResources/cpu/architectures/1',
  ],
  [
    'unknown peripheral',
    (d) => (at(profile(d, 1), 'requiredResources', 'peripherals', 0).type = 'laser'),
    '/deploymentProfiles/1/requiredResources/peripherals/0/type',
  ],
  [
    'peripherals in capacityRequirements',
    (d) => (at(profile(d, 0), 'deviceConstraints', 'capacityRequirements').peripherals = []),
    '/deploymentProfiles/0/deviceConstraints/capacityRequirements/peripherals',
  ],
  [
    'Gt with two values',
    (d) => (labelExpr(d, 0).values = [1, 2]),
    `${RULES0}/labelSelector/matchExpressions/0/values`,
  ],
  [
    'Gt with a non-numeric value',
    (d) => (labelExpr(d, 0).values = ['high']),
    `${RULES0}/labelSelector/matchExpressions/0/values/0`,
  ],
  [
    'Exists with values',
    (d) => (labelExpr(d, 1).values = ['x']),
    `${RULES0}/labelSelector/matchExpressions/1/values`,
  ],
  [
    'In without values',
    (d) => delete propertyExpr(d, 0).values,
    `${RULES0}/propertySelector/matchExpressions/0/values`,
  ],
  [
    'unknown operator',
    (d) => (propertyExpr(d, 0).operator = 'Equals'),
    `${RULES0}/propertySelector/matchExpressions/0/operator`,
  ],
  [
    'property key not a pointer',
    (d) => (propertyExpr(d, 0).key = 'vendor'),
    `${RULES0}/propertySelector/matchExpressions/0/key`,
  ],
  [
    'ContainsAny without itemSelector',
    (d) => delete propertyExpr(d, 1).itemSelector,
    `${RULES0}/propertySelector/matchExpressions/1/itemSelector`,
  ],
  [
    'itemSelector on In',
    (d) => (propertyExpr(d, 0).itemSelector = { matchExpressions: [] }),
    `${RULES0}/propertySelector/matchExpressions/0/itemSelector`,
  ],
  ['rule without selectors', (d) => (at(profile(d, 0), 'deviceConstraints').eligibilityRules = [{}]), RULES0],
  [
    'selector without expressions',
    (d) =>
      (at(profile(d, 0), 'deviceConstraints', 'eligibilityRules', 0).labelSelector = {
        matchExpressions: [],
      }),
    `${RULES0}/labelSelector/matchExpressions`,
  ],
  ['parameters not a map', (d) => (d.parameters = []), '/parameters'],
  [
    'parameter without targets',
    (d) => delete at(d, 'parameters', 'mode').targets,
    '/parameters/mode/targets',
  ],
  [
    'target without pointer',
    (d) => delete at(d, 'parameters', 'mode', 'targets', 0).pointer,
    '/parameters/mode/targets/0/pointer',
  ],
  [
    'target without components',
    (d) => (at(d, 'parameters', 'mode', 'targets', 0).components = []),
    '/parameters/mode/targets/0/components',
  ],
  [
    'target naming an unknown component',
    (d) => (at(d, 'parameters', 'sampleRate', 'targets', 1).components = ['monitor', 'cache']),
    '/parameters/sampleRate/targets/1/components/1',
  ],
  [
    'setting naming an unknown schema',
    (d) => (setting(d, 0, 1).schema = 'nope'),
    '/configuration/sections/0/settings/1/schema',
  ],
  [
    'setting naming an unknown parameter',
    (d) => (setting(d, 0, 1).parameter = 'nope'),
    '/configuration/sections/0/settings/1/parameter',
  ],
  [
    'two settings for one parameter',
    (d) => (setting(d, 1, 0).parameter = 'sampleRate'),
    '/configuration/sections/1/settings/0/parameter',
  ],
  [
    'immutable not a boolean',
    (d) => (setting(d, 1, 2).immutable = 'yes'),
    '/configuration/sections/1/settings/2/immutable',
  ],
  [
    'regexMatch that does not compile',
    (d) => (rule(d, 4).regexMatch = '^[A-Z'),
    '/configuration/schema/4/regexMatch',
  ],
  ['duplicate schema name', (d) => (rule(d, 1).name = 'rate'), '/configuration/schema/1/name'],
  ['unknown dataType', (d) => (rule(d, 0).dataType = 'text'), '/configuration/schema/0/dataType'],
  ['maxLength on an integer rule', (d) => (rule(d, 0).maxLength = 3), '/configuration/schema/0/maxLength'],
  ['minValue above maxValue', (d) => (rule(d, 0).minValue = 500), '/configuration/schema/0/maxValue'],
  ['multiselect without options', (d) => delete rule(d, 5).options, '/configuration/schema/5/multiselect'],
  [
    'option of the wrong type',
    (d) => (rule(d, 2).options = ['fast', 3]),
    '/configuration/schema/2/options/1',
  ],
  [
    'default value violating maxLength',
    (d) => (at(d, 'parameters', 'siteCode').value = 'ABC-1234567890'),
    '/parameters/siteCode/value',
  ],
  [
    'default value outside the range',
    (d) => (at(d, 'parameters', 'sampleRate').value = 0),
    '/parameters/sampleRate/value',
  ],
  [
    'default value not an option',
    (d) => (at(d, 'parameters', 'mode').value = 'slow'),
    '/parameters/mode/value',
  ],
  [
    'default value of the wrong type',
    (d) => (at(d, 'parameters', 'alerts').value = 'yes'),
    '/parameters/alerts/value',
  ],
  [
    'untyped default that is an object',
    (d) => (at(d, 'parameters', 'logLevel').value = { a: 1 }),
    '/parameters/logLevel/value',
  ],
  [
    'untyped default that is an array',
    (d) => (at(d, 'parameters', 'logLevel').value = ['info']),
    '/parameters/logLevel/value',
  ],
  [
    'multiselect default with a stray item',
    (d) => (at(d, 'parameters', 'zones').value = ['north', 'west']),
    '/parameters/zones/value/1',
  ],
];

describe('parseApplicationDescription: broken variants → 422 with a pointer', () => {
  it.each(BROKEN.map(([name, mutate, pointer]) => [name, pointer, mutate] as const))(
    '%s → %s',
    (_name, pointer, mutate) => {
      const doc = newerDoc();
      mutate(doc);
      const result = parseJson(doc);
      expect(result).toMatchObject({ ok: false, status: 422 });
      if (result.ok) return;
      expect(result.errors.map((e) => e.field)).toContain(pointer);
      expect(result.errors.every((e) => e.message.length > 0)).toBe(true);
    },
  );

  it('escapes pointer tokens of parameter names', () => {
    const doc = newerDoc();
    at(doc, 'parameters')['a/b~c'] = { targets: [{ pointer: 'x', components: ['nope'] }] };
    const result = parseJson(doc);
    expect(!result.ok && result.errors.map((e) => e.field)).toEqual([
      '/parameters/a~1b~0c/targets/0/components/0',
    ]);
  });

  it('rejects a document that is not an object', () => {
    expect(parseApplicationDescription('- a\n- b\n', 'yaml')).toMatchObject({
      status: 422,
      errors: [{ field: '' }],
    });
    expect(parseApplicationDescription('', 'yaml')).toMatchObject({ status: 422 });
  });

  it('lists at most 100 errors and says how many there were', () => {
    const doc = newerDoc();
    for (let i = 0; i < 150; i++) doc[`bad${i}`] = i;
    const result = parseJson(doc);
    expect(!result.ok && result.errors).toHaveLength(100);
    expect(!result.ok && result.detail).toMatch(/150 error\(s\), the first 100 listed/);
  });
});

describe('parseApplicationDescription: bytes that are not YAML/JSON → 400', () => {
  const bomb = [
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
    'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]',
    'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]',
    'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]',
    'e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]',
    'f: [*e,*e,*e,*e,*e,*e,*e,*e,*e]',
  ].join('\n');

  it.each([
    ['malformed YAML', 'id: [a, b\nmetadata: {', 'yaml'],
    ['several YAML documents', 'id: a\n---\nid: b\n', 'yaml'],
    ['duplicate YAML keys', 'id: a\nid: b\n', 'yaml'],
    ['a YAML alias bomb', bomb, 'yaml'],
    ['an unknown YAML tag', 'id: !custom a\n', 'yaml'],
    ['a binary YAML value', 'id: !!binary aGVsbG8=\n', 'yaml'],
    ['a non-finite YAML number', 'id: .inf\n', 'yaml'],
    ['malformed JSON', '{"id": "a",}', 'json'],
    ['YAML sent as JSON', 'id: a\n', 'json'],
  ] as const)('%s', (_name, text, type) => {
    const result = parseApplicationDescription(text, type);
    expect(result).toMatchObject({ ok: false, status: 400 });
    if (result.ok) return;
    expect(result.errors.length).toBeGreaterThan(0);
    expect(result.detail).toMatch(type === 'yaml' ? /YAML/ : /JSON/);
  });

  it('points at a duplicate JSON key', () => {
    const text =
      '{"id": "a", "deploymentProfiles": [{"id": "p"}, {"id": "q", "type": "helm", "type": "compose"}]}';
    expect(parseApplicationDescription(text, 'json')).toMatchObject({
      status: 400,
      errors: [{ field: '/deploymentProfiles/1/type', message: 'duplicate key' }],
    });
  });

  it('does not mistake repeated keys in sibling objects or escaped quotes for duplicates', () => {
    const doc = newerDoc();
    at(doc, 'metadata').description = 'say "id": "x", twice \\ "id"';
    const text = JSON.stringify(doc, null, 2);
    expect(parseApplicationDescription(text, 'json').ok).toBe(true);
  });

  it('rejects documents nested too deeply', () => {
    const text = `${'['.repeat(200)}${']'.repeat(200)}`;
    expect(parseApplicationDescription(text, 'json')).toMatchObject({ status: 400 });
  });

  it('accepts a leading byte-order mark', () => {
    expect(parseApplicationDescription(`\uFEFF${JSON.stringify(newerDoc())}`, 'json').ok).toBe(true);
  });
});
