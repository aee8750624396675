import { describe, expect, it } from 'vitest';
import type { ApplicationPackage, PackageSetting, SchemaRule } from './domain.js';
import {
  IMMUTABLE_MESSAGE,
  checkValue,
  decimalPlaces,
  effectiveParameters,
  jsonEqual,
  validateParameterValues,
} from './parameter-values.js';

const target = (pointer: string) => [{ pointer, components: ['app'] }];

const setting = (parameter: string, schema: string, immutable = false): PackageSetting => ({
  parameter,
  name: parameter,
  schema,
  immutable,
  section: 'General',
});

const SCHEMA: SchemaRule[] = [
  {
    name: 'text',
    dataType: 'string',
    allowEmpty: false,
    minLength: 2,
    maxLength: 10,
    regexMatch: '^[a-z ]+$',
  },
  { name: 'optionalText', dataType: 'string' },
  { name: 'rate', dataType: 'integer', minValue: 1, maxValue: 100 },
  { name: 'ratio', dataType: 'double', minValue: 0, maxValue: 1, minPrecision: 1, maxPrecision: 2 },
  { name: 'flag', dataType: 'boolean', allowEmpty: false },
  { name: 'mode', dataType: 'string', options: ['fast', 'accurate'] },
  { name: 'zones', dataType: 'string', multiselect: true, allowEmpty: false, options: ['north', 'south'] },
  { name: 'ports', dataType: 'array', options: [80, 443, 8080] },
  { name: 'code', dataType: 'string', allowEmpty: false },
];

/** A hand-built package (independent of the description parser). */
const PKG: ApplicationPackage = {
  applicationId: 'app',
  version: '1.0.0',
  name: 'App',
  profiles: [],
  parameters: {
    greeting: { value: 'hello', targets: target('greeting') },
    note: { targets: target('note') },
    rate: { value: 10, targets: target('rate') },
    ratio: { value: 0.5, targets: target('ratio') },
    enabled: { value: true, targets: target('enabled') },
    mode: { value: 'fast', targets: target('mode') },
    zones: { value: ['north'], targets: target('zones') },
    ports: { targets: target('ports') },
    siteCode: { targets: target('site') },
    free: { value: 'anything', targets: target('FREE') },
  },
  settings: [
    setting('greeting', 'text'),
    setting('note', 'optionalText'),
    setting('rate', 'rate'),
    setting('ratio', 'ratio'),
    setting('enabled', 'flag'),
    setting('mode', 'mode'),
    setting('zones', 'zones'),
    setting('ports', 'ports'),
    setting('siteCode', 'code', true),
  ],
  schema: SCHEMA,
  extensions: {},
};

const validate = (values: Record<string, unknown>, lockedImmutable?: Record<string, string>) =>
  validateParameterValues(PKG, values, { pointerPrefix: '/parameters', lockedImmutable });

describe('validateParameterValues', () => {
  it('accepts values that satisfy their rules', () => {
    expect(
      validate({
        greeting: 'good day',
        note: 'Anything At All 123',
        rate: 100,
        ratio: 0.25,
        enabled: false,
        mode: 'accurate',
        zones: ['south', 'north'],
        ports: [443, 8080],
        siteCode: 'ABC',
        free: 42,
      }),
    ).toEqual([]);
  });

  it('rejects parameters the package does not declare', () => {
    expect(validate({ nope: 1, constructor: 'x' })).toEqual([
      { field: '/parameters/nope', message: 'unknown parameter' },
      { field: '/parameters/constructor', message: 'unknown parameter' },
    ]);
  });

  it.each([
    ['greeting', 5, 'must be a string'],
    ['rate', '10', 'must be an integer'],
    ['rate', 2.5, 'must be an integer'],
    ['ratio', 'half', 'must be a number'],
    ['enabled', 'true', 'must be a boolean'],
    ['ports', 443, 'must be an array'],
    ['zones', 'north', 'must be an array of the options'],
  ])('type: %s = %j → %s', (name, value, message) => {
    expect(validate({ [name]: value })).toEqual([{ field: `/parameters/${name}`, message }]);
  });

  it.each([
    ['rate', 0, 'must be at least 1'],
    ['rate', 101, 'must be at most 100'],
    ['ratio', -0.5, 'must be at least 0'],
    ['ratio', 1.5, 'must be at most 1'],
    ['ratio', 0.125, 'must have at most 2 decimal places'],
    ['ratio', 1, 'must have at least 1 decimal places'],
  ])('range and precision: %s = %j → %s', (name, value, message) => {
    expect(validate({ [name]: value })).toEqual([{ field: `/parameters/${name}`, message }]);
  });

  it('checks length (in code points) and regexMatch', () => {
    expect(validate({ greeting: 'h' })).toEqual([
      { field: '/parameters/greeting', message: 'must be at least 2 characters long' },
    ]);
    expect(validate({ greeting: 'hello there world' })).toEqual([
      { field: '/parameters/greeting', message: 'must be at most 10 characters long' },
    ]);
    expect(validate({ greeting: 'Hello' })).toEqual([
      { field: '/parameters/greeting', message: 'must match the pattern ^[a-z ]+$' },
    ]);
    expect(validate({ note: '😀😀' })).toEqual([]);
    const emoji: SchemaRule = { name: 'e', dataType: 'string', maxLength: 2 };
    expect(checkValue(emoji, '😀😀', '/x')).toEqual([]);
  });

  it('checks select and multiselect against the options, with item pointers', () => {
    expect(validate({ mode: 'slow' })).toEqual([
      { field: '/parameters/mode', message: 'must be one of "fast", "accurate"' },
    ]);
    expect(validate({ zones: ['north', 'west', 'east'] })).toEqual([
      { field: '/parameters/zones/1', message: 'must be one of "north", "south"' },
      { field: '/parameters/zones/2', message: 'must be one of "north", "south"' },
    ]);
    expect(validate({ ports: [80, '443'] })).toEqual([
      { field: '/parameters/ports/1', message: 'must be one of 80, 443, 8080' },
    ]);
  });

  it('allowEmpty: false forbids null, empty text and empty multiselects', () => {
    expect(validate({ greeting: '', siteCode: null, zones: [], enabled: null })).toEqual([
      { field: '/parameters/greeting', message: 'must not be empty (allowEmpty is false)' },
      { field: '/parameters/siteCode', message: 'must not be empty (allowEmpty is false)' },
      { field: '/parameters/zones', message: 'must not be empty (allowEmpty is false)' },
      { field: '/parameters/enabled', message: 'must not be empty (allowEmpty is false)' },
    ]);
  });

  it('without allowEmpty: false an empty value is accepted and skips the other rules', () => {
    expect(validate({ note: '', mode: null, ports: [], rate: null })).toEqual([]);
    const lengthy: SchemaRule = { name: 'l', dataType: 'string', allowEmpty: true, minLength: 3 };
    expect(checkValue(lengthy, '', '/x')).toEqual([]);
  });

  it('a parameter without a setting accepts any JSON scalar, nothing else', () => {
    expect(validate({ free: 'x' })).toEqual([]);
    expect(validate({ free: 1.5 })).toEqual([]);
    expect(validate({ free: false })).toEqual([]);
    expect(validate({ free: null })).toEqual([]);
    for (const value of [{ a: 1 }, ['x'], undefined, Number.NaN]) {
      expect(validate({ free: value })).toEqual([
        { field: '/parameters/free', message: 'must be a JSON scalar (string, number, boolean or null)' },
      ]);
    }
  });

  it('immutable: a value different from the one used at first install is rejected', () => {
    expect(validate({ siteCode: 'ABC' }, { siteCode: 'ABC' })).toEqual([]);
    expect(validate({ siteCode: 'XYZ' }, { siteCode: 'ABC' })).toEqual([
      { field: '/parameters/siteCode', message: IMMUTABLE_MESSAGE },
    ]);
    expect(IMMUTABLE_MESSAGE).toBe('immutable: cannot change after it was used to install');
    // Not locked yet (never installed): any valid value.
    expect(validate({ siteCode: 'XYZ' }, {})).toEqual([]);
    expect(validate({ siteCode: 'XYZ' })).toEqual([]);
    // Only immutable settings are locked.
    expect(validate({ rate: 20 }, { rate: '10' })).toEqual([]);
  });

  it('immutable arrays compare structurally', () => {
    const pkg: ApplicationPackage = {
      ...PKG,
      settings: PKG.settings.map((s) => (s.parameter === 'zones' ? { ...s, immutable: true } : s)),
    };
    const locked = { zones: ['north', 'south'] };
    const check = (zones: string[]) =>
      validateParameterValues(pkg, { zones }, { pointerPrefix: '/parameters', lockedImmutable: locked });
    expect(check(['north', 'south'])).toEqual([]);
    expect(check(['south', 'north'])).toEqual([{ field: '/parameters/zones', message: IMMUTABLE_MESSAGE }]);
  });

  it('uses the pointer prefix and escapes names', () => {
    expect(
      validateParameterValues(PKG, { rate: 0, 'a/b': 1 }, { pointerPrefix: '/devices/0/parameters' }),
    ).toEqual([
      { field: '/devices/0/parameters/rate', message: 'must be at least 1' },
      { field: '/devices/0/parameters/a~1b', message: 'unknown parameter' },
    ]);
  });
});

describe('effectiveParameters', () => {
  it('layers values over package defaults and records which layer set each', () => {
    const result = effectiveParameters(PKG, [
      { rate: 20, mode: 'accurate', unknown: 1 },
      { rate: 30, siteCode: 'ABC' },
    ]);
    expect(result.greeting).toEqual({ value: 'hello', targets: target('greeting'), source: -1 });
    expect(result.rate).toEqual({ value: 30, targets: target('rate'), source: 1 });
    expect(result.mode).toEqual({ value: 'accurate', targets: target('mode'), source: 0 });
    expect(result.siteCode).toEqual({ value: 'ABC', targets: target('site'), source: 1 });
    expect(Object.keys(result)).toEqual([
      'greeting',
      'rate',
      'ratio',
      'enabled',
      'mode',
      'zones',
      'siteCode',
      'free',
    ]);
    expect(result).not.toHaveProperty('note');
    expect(result).not.toHaveProperty('ports');
    expect(result).not.toHaveProperty('unknown');
  });

  it('keeps an explicit null from a layer', () => {
    expect(effectiveParameters(PKG, [{ greeting: null }]).greeting).toMatchObject({ value: null, source: 0 });
  });

  it('with no layers gives the package defaults', () => {
    const result = effectiveParameters(PKG, []);
    expect(Object.values(result).every((p) => p.source === -1)).toBe(true);
    expect(result.zones.value).toEqual(['north']);
  });

  it('handles a parameter named __proto__ as an ordinary key', () => {
    const parameters = JSON.parse(
      '{"__proto__": {"value": 1, "targets": []}}',
    ) as ApplicationPackage['parameters'];
    const result = effectiveParameters({ ...PKG, parameters }, []);
    expect(Object.keys(result)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
  });
});

describe('helpers', () => {
  it.each([
    [1, 0],
    [1.5, 1],
    [1.25, 2],
    [-0.125, 3],
    [1e-7, 7],
    [1.5e-10, 11],
    [1e21, 0],
  ])('decimalPlaces(%d) = %d', (n, places) => {
    expect(decimalPlaces(n)).toBe(places);
  });

  it('jsonEqual compares structurally, ignoring key order', () => {
    expect(jsonEqual({ a: [1, { b: 2 }], c: null }, { c: null, a: [1, { b: 2 }] })).toBe(true);
    expect(jsonEqual({ a: 1 }, { a: 1, b: undefined })).toBe(false);
    expect(jsonEqual([1, 2], [2, 1])).toBe(false);
    expect(jsonEqual('1', 1)).toBe(false);
  });
});
