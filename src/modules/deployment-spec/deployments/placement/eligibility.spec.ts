import { describe, expect, it } from 'vitest';
import type { DeviceFacts } from '../../../device-capability/device-facts.js';
import type { EligibilityRule, JsonValue, MatchExpression } from '../../packages/domain.js';
import { evaluateRule, evaluateRules, matchExpression, resolvePointer } from './eligibility.js';

const properties: { [key: string]: JsonValue } = {
  id: 'edge-01',
  vendor: 'Acme',
  modelNumber: 'X1',
  cpus: [
    { cores: 4, architecture: 'amd64' },
    { cores: 2, architecture: 'arm64' },
  ],
  peripherals: [
    { type: 'gpu', manufacturer: 'NVIDIA', model: 'A2' },
    { type: 'camera', manufacturer: 'Basler' },
  ],
  supportedDeploymentTypes: ['helm', 'compose'],
  otelCollector: true,
  nothing: null,
  nested: { 'a/b': { 'c~d': 7 } },
  emptyList: [],
};

const labels: { [key: string]: JsonValue } = {
  'example.com/line': 'welding',
  'example.com/wasm.version': ['MVP', 'MVP+'],
  'example.com/slots': 3,
  'example.com/numbers': [1, 2, 3],
  'example.com/hyper-v.host': true,
  'example.com/text-number': '3',
};

const device: DeviceFacts = {
  clientId: 'c1',
  deviceId: 'edge-01',
  hosting: true,
  cpus: [],
  memoryBytes: null,
  memoryText: null,
  storageBytes: null,
  storageText: null,
  peripherals: [],
  interfaceTypes: [],
  deploymentTypes: ['helm'],
  labels,
  properties,
};

const prop = (e: MatchExpression) => matchExpression(e, properties, 'property');
const label = (e: MatchExpression) => matchExpression(e, labels, 'label');

describe('resolvePointer (RFC 6901)', () => {
  it('resolves object members, array indexes, escapes and the root', () => {
    expect(resolvePointer(properties, '/vendor')).toEqual({ found: true, value: 'Acme' });
    expect(resolvePointer(properties, '/cpus/1/architecture')).toEqual({ found: true, value: 'arm64' });
    expect(resolvePointer(properties, '/nested/a~1b/c~0d')).toEqual({ found: true, value: 7 });
    expect(resolvePointer(properties, '')).toEqual({ found: true, value: properties });
  });

  it('does not resolve missing members, bad indexes or inherited properties', () => {
    expect(resolvePointer(properties, '/missing').found).toBe(false);
    expect(resolvePointer(properties, '/cpus/2').found).toBe(false);
    expect(resolvePointer(properties, '/cpus/01').found).toBe(false);
    expect(resolvePointer(properties, '/cpus/-').found).toBe(false);
    expect(resolvePointer(properties, '/constructor').found).toBe(false);
    expect(resolvePointer(properties, '/vendor/0').found).toBe(false);
  });

  it('flags keys that are not pointers', () => {
    expect(resolvePointer(properties, 'vendor')).toEqual({
      found: false,
      error: 'is not a JSON pointer (it must start with /)',
    });
    expect(resolvePointer(properties, '/a~2')).toEqual({
      found: false,
      error: 'is not a JSON pointer (bad ~ escape)',
    });
  });
});

describe('In', () => {
  it('matches a scalar exactly and case-sensitively', () => {
    expect(prop({ key: '/vendor', operator: 'In', values: ['Acme', 'Other'] }).ok).toBe(true);
    expect(prop({ key: '/vendor', operator: 'In', values: ['acme'] })).toEqual({
      ok: false,
      reasons: ['property /vendor must be In [acme]; device has Acme'],
    });
  });

  it('matches when any element of an array is in values (labels and properties)', () => {
    expect(label({ key: 'example.com/wasm.version', operator: 'In', values: ['MVP+'] }).ok).toBe(true);
    expect(label({ key: 'example.com/wasm.version', operator: 'In', values: ['2.0'] }).reasons).toEqual([
      'label example.com/wasm.version must be In [2.0]; device has [MVP, MVP+]',
    ]);
    expect(prop({ key: '/supportedDeploymentTypes', operator: 'In', values: ['compose'] }).ok).toBe(true);
    expect(label({ key: 'example.com/numbers', operator: 'In', values: [3] }).ok).toBe(true);
  });

  it('compares numbers and booleans by JSON type (no coercion)', () => {
    expect(label({ key: 'example.com/slots', operator: 'In', values: [3] }).ok).toBe(true);
    expect(label({ key: 'example.com/slots', operator: 'In', values: ['3'] }).ok).toBe(false);
    expect(label({ key: 'example.com/text-number', operator: 'In', values: [3] }).ok).toBe(false);
    expect(label({ key: 'example.com/hyper-v.host', operator: 'In', values: [true] }).ok).toBe(true);
    expect(label({ key: 'example.com/hyper-v.host', operator: 'In', values: ['true'] }).ok).toBe(false);
  });

  it('is false for a missing key, with the example text', () => {
    expect(
      matchExpression({ key: 'example.com/line', operator: 'In', values: ['paint'] }, labels, 'label'),
    ).toEqual({
      ok: false,
      reasons: ['label example.com/line must be In [paint]; device has welding'],
    });
    expect(label({ key: 'example.com/absent', operator: 'In', values: ['paint'] }).reasons).toEqual([
      'label example.com/absent must be In [paint]; device has no such label',
    ]);
    expect(prop({ key: '/absent', operator: 'In', values: ['x'] }).reasons).toEqual([
      'property /absent must be In [x]; device has no such property',
    ]);
  });

  it('is false for unsupported JSON types (object, null, array of objects)', () => {
    expect(prop({ key: '/nested', operator: 'In', values: ['x'] }).reasons).toEqual([
      'property /nested must be In [x]; device has {"a/b":{"c~d":7}}, which is not a string, number, boolean or list of them',
    ]);
    expect(prop({ key: '/nothing', operator: 'In', values: [null] }).ok).toBe(false);
    expect(prop({ key: '/cpus', operator: 'In', values: ['amd64'] }).ok).toBe(false);
  });

  it('is false without values', () => {
    expect(prop({ key: '/vendor', operator: 'In' }).reasons).toEqual([
      'property /vendor: In needs at least one value',
    ]);
    expect(prop({ key: '/vendor', operator: 'In', values: [] }).ok).toBe(false);
  });

  it('is false when a property key is not a JSON pointer', () => {
    expect(prop({ key: 'vendor', operator: 'In', values: ['Acme'] }).reasons).toEqual([
      'property vendor is not a JSON pointer (it must start with /)',
    ]);
  });
});

describe('NotIn', () => {
  it('holds when the key exists and no value matches', () => {
    expect(prop({ key: '/vendor', operator: 'NotIn', values: ['Other'] }).ok).toBe(true);
    expect(label({ key: 'example.com/wasm.version', operator: 'NotIn', values: ['2.0'] }).ok).toBe(true);
    expect(prop({ key: '/emptyList', operator: 'NotIn', values: ['x'] }).ok).toBe(true);
  });

  it('fails when a value or an array element matches', () => {
    expect(prop({ key: '/vendor', operator: 'NotIn', values: ['Acme'] }).reasons).toEqual([
      'property /vendor must be NotIn [Acme]; device has Acme',
    ]);
    expect(label({ key: 'example.com/wasm.version', operator: 'NotIn', values: ['MVP'] }).ok).toBe(false);
  });

  it('fails when the key is missing or the type is unsupported', () => {
    expect(label({ key: 'example.com/absent', operator: 'NotIn', values: ['x'] }).reasons).toEqual([
      'label example.com/absent must be NotIn [x]; device has no such label',
    ]);
    expect(prop({ key: '/nested', operator: 'NotIn', values: ['x'] }).ok).toBe(false);
    expect(prop({ key: '/nothing', operator: 'NotIn', values: ['x'] }).ok).toBe(false);
  });
});

describe('Exists / DoesNotExist', () => {
  it('Exists holds for any present value (null and objects included)', () => {
    expect(prop({ key: '/vendor', operator: 'Exists' }).ok).toBe(true);
    expect(prop({ key: '/nothing', operator: 'Exists' }).ok).toBe(true);
    expect(prop({ key: '/nested/a~1b', operator: 'Exists' }).ok).toBe(true);
    expect(label({ key: 'example.com/gpu', operator: 'Exists' }).reasons).toEqual([
      'label example.com/gpu must exist; device has no such label',
    ]);
  });

  it('DoesNotExist holds only for an absent key', () => {
    expect(prop({ key: '/serialNumber', operator: 'DoesNotExist' }).ok).toBe(true);
    expect(label({ key: 'example.com/line', operator: 'DoesNotExist' }).reasons).toEqual([
      'label example.com/line must not exist; device has welding',
    ]);
  });
});

describe('Gt / Lt', () => {
  it('compares a numeric device value with the single value', () => {
    expect(label({ key: 'example.com/slots', operator: 'Gt', values: [2] }).ok).toBe(true);
    expect(label({ key: 'example.com/slots', operator: 'Gt', values: [3] }).reasons).toEqual([
      'label example.com/slots must be greater than 3; device has 3',
    ]);
    expect(label({ key: 'example.com/slots', operator: 'Lt', values: [3.5] }).ok).toBe(true);
    expect(label({ key: 'example.com/slots', operator: 'Lt', values: [3] }).reasons).toEqual([
      'label example.com/slots must be less than 3; device has 3',
    ]);
    expect(prop({ key: '/cpus/0/cores', operator: 'Gt', values: [3] }).ok).toBe(true);
  });

  it('accepts a numeric string as the operand', () => {
    expect(label({ key: 'example.com/slots', operator: 'Gt', values: ['2.5'] }).ok).toBe(true);
  });

  it('is false when the device value is not a number', () => {
    expect(label({ key: 'example.com/text-number', operator: 'Gt', values: [1] }).reasons).toEqual([
      'label example.com/text-number must be greater than 1; device has 3, which is not a number',
    ]);
    expect(label({ key: 'example.com/numbers', operator: 'Gt', values: [0] }).ok).toBe(false);
    expect(label({ key: 'example.com/absent', operator: 'Lt', values: [1] }).reasons).toEqual([
      'label example.com/absent must be less than 1; device has no such label',
    ]);
  });

  it('is false unless values holds exactly one number', () => {
    expect(label({ key: 'example.com/slots', operator: 'Gt', values: [1, 2] }).reasons).toEqual([
      'label example.com/slots: Gt needs exactly one numeric value',
    ]);
    expect(label({ key: 'example.com/slots', operator: 'Lt', values: ['many'] }).ok).toBe(false);
    expect(label({ key: 'example.com/slots', operator: 'Lt' }).ok).toBe(false);
  });
});

describe('ContainsAll / ContainsAny', () => {
  const gpuNvidia: MatchExpression = {
    key: '/peripherals',
    operator: 'ContainsAll',
    itemSelector: {
      matchExpressions: [
        { key: '/type', operator: 'In', values: ['gpu'] },
        { key: '/manufacturer', operator: 'In', values: ['NVIDIA'] },
      ],
    },
  };

  it('ContainsAll: one element must satisfy every item expression', () => {
    expect(prop(gpuNvidia).ok).toBe(true);
    const split: MatchExpression = {
      key: '/peripherals',
      operator: 'ContainsAll',
      itemSelector: {
        matchExpressions: [
          { key: '/type', operator: 'In', values: ['gpu'] },
          { key: '/manufacturer', operator: 'In', values: ['Basler'] },
        ],
      },
    };
    // gpu is on one element, Basler on another: no single element has both.
    expect(prop(split).reasons).toEqual([
      "property /peripherals must contain an element with /type In [gpu] and /manufacturer In [Basler]; none of the device's 2 entries does",
    ]);
  });

  it('ContainsAny: one element must satisfy at least one item expression', () => {
    const any: MatchExpression = {
      key: '/peripherals',
      operator: 'ContainsAny',
      itemSelector: {
        matchExpressions: [
          { key: '/type', operator: 'In', values: ['nic'] },
          { key: '/manufacturer', operator: 'In', values: ['Basler'] },
        ],
      },
    };
    expect(prop(any).ok).toBe(true);
    const none: MatchExpression = {
      key: '/peripherals',
      operator: 'ContainsAny',
      itemSelector: {
        matchExpressions: [
          { key: '/type', operator: 'In', values: ['nic'] },
          { key: '/model', operator: 'Exists' },
          { key: '/model', operator: 'In', values: ['B9'] },
        ],
      },
    };
    expect(
      prop({ ...none, itemSelector: { matchExpressions: none.itemSelector!.matchExpressions.slice(0, 1) } })
        .ok,
    ).toBe(false);
    expect(prop(none).ok).toBe(true);
  });

  it('uses element-relative pointers, including nested arrays and Gt', () => {
    expect(
      prop({
        key: '/cpus',
        operator: 'ContainsAll',
        itemSelector: {
          matchExpressions: [
            { key: '/architecture', operator: 'In', values: ['arm64'] },
            { key: '/cores', operator: 'Gt', values: [1] },
          ],
        },
      }).ok,
    ).toBe(true);
    expect(
      prop({
        key: '/cpus',
        operator: 'ContainsAll',
        itemSelector: {
          matchExpressions: [
            { key: '/architecture', operator: 'In', values: ['arm64'] },
            { key: '/cores', operator: 'Gt', values: [2] },
          ],
        },
      }).ok,
    ).toBe(false);
  });

  it('is false for a missing key, a scalar, an array of scalars, an empty list or a label', () => {
    const on = (key: string): MatchExpression => ({ ...gpuNvidia, key });
    expect(prop(on('/absent')).reasons).toEqual([
      'property /absent must contain an element with /type In [gpu] and /manufacturer In [NVIDIA]; device has no such property',
    ]);
    expect(prop(on('/vendor')).reasons).toEqual([
      'property /vendor must contain an element with /type In [gpu] and /manufacturer In [NVIDIA]; device has Acme, which is not a list of objects',
    ]);
    expect(prop(on('/supportedDeploymentTypes')).ok).toBe(false);
    expect(prop(on('/emptyList')).reasons).toEqual([
      'property /emptyList must contain an element with /type In [gpu] and /manufacturer In [NVIDIA]; device has an empty list',
    ]);
    expect(label(on('example.com/wasm.version')).ok).toBe(false);
  });

  it('is false without item expressions', () => {
    expect(prop({ key: '/peripherals', operator: 'ContainsAny' }).reasons).toEqual([
      'property /peripherals: ContainsAny needs itemSelector.matchExpressions',
    ]);
    expect(
      prop({ key: '/peripherals', operator: 'ContainsAll', itemSelector: { matchExpressions: [] } }).ok,
    ).toBe(false);
  });
});

describe('unknown operator', () => {
  it('is false with a reason', () => {
    const odd = { key: '/vendor', operator: 'Matches' } as unknown as MatchExpression;
    expect(prop(odd).reasons).toEqual(['property /vendor: unknown operator Matches']);
  });
});

describe('evaluateRule / evaluateRules', () => {
  const paint: EligibilityRule = {
    labelSelector: { matchExpressions: [{ key: 'example.com/line', operator: 'In', values: ['paint'] }] },
  };
  const acmeWelding: EligibilityRule = {
    propertySelector: { matchExpressions: [{ key: '/vendor', operator: 'In', values: ['Acme'] }] },
    labelSelector: { matchExpressions: [{ key: 'example.com/line', operator: 'In', values: ['welding'] }] },
  };

  it('ANDs both selectors and every expression, reporting each failure', () => {
    expect(evaluateRule(acmeWelding, device).ok).toBe(true);
    const both: EligibilityRule = {
      propertySelector: {
        matchExpressions: [
          { key: '/vendor', operator: 'In', values: ['Other'] },
          { key: '/otelCollector', operator: 'In', values: [true] },
        ],
      },
      labelSelector: { matchExpressions: [{ key: 'example.com/line', operator: 'In', values: ['paint'] }] },
    };
    expect(evaluateRule(both, device)).toEqual({
      ok: false,
      reasons: [
        'property /vendor must be In [Other]; device has Acme',
        'label example.com/line must be In [paint]; device has welding',
      ],
    });
  });

  it('treats an empty rule and empty selectors as holding', () => {
    expect(evaluateRule({}, device).ok).toBe(true);
    expect(evaluateRule({ propertySelector: { matchExpressions: [] } }, device).ok).toBe(true);
  });

  it('ORs the rules; no rules = eligible', () => {
    expect(evaluateRules([], device).ok).toBe(true);
    expect(evaluateRules([paint, acmeWelding], device).ok).toBe(true);
    expect(evaluateRules([paint], device)).toEqual({
      ok: false,
      reasons: ['eligibility: label example.com/line must be In [paint]; device has welding'],
    });
    const other: EligibilityRule = {
      propertySelector: { matchExpressions: [{ key: '/vendor', operator: 'In', values: ['Other'] }] },
    };
    expect(evaluateRules([paint, other], device).reasons).toEqual([
      'eligibility rule 1 of 2: label example.com/line must be In [paint]; device has welding',
      'eligibility rule 2 of 2: property /vendor must be In [Other]; device has Acme',
    ]);
  });
});
