import fc from 'fast-check';
import type { JsonSchema } from './operations.js';

/**
 * Hostile values for the fuzz suite: odd strings, numbers beyond every integer type, deep nesting,
 * wrong types, and values shaped by a JSON schema with fields missing or added. Pure.
 */

/** A number written verbatim into the JSON text (e.g. `1e400`, 2^63 exactly), which JS cannot hold. */
export class RawNumber {
  constructor(readonly text: string) {}
}

/** An array or object nested `depth` levels deep, written without recursion. */
export class Deep {
  constructor(
    readonly depth: number,
    readonly kind: 'array' | 'object',
  ) {}
}

export const ODD_STRINGS: readonly string[] = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udfffy',
  '\ufeff\u202e',
  '\u{1F600}',
  'é',
  '\r\n\t',
  '%',
  '%00',
  '%E0%A4%A',
  '%2e%2e%2f',
  '../../etc/passwd',
  "' OR 1=1 --",
  '<script>alert(1)</script>',
  '${jndi:ldap://x}',
  '__proto__',
  'constructor',
  'null',
  'true',
  '-1',
  '1e400',
  'x'.repeat(3000),
  'long-'.repeat(2_000),
  'L'.repeat(100_000),
];

export const oddString: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom(...ODD_STRINGS), weight: 4 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 40 }), weight: 2 },
  { arbitrary: fc.string({ maxLength: 20 }), weight: 1 },
);

export const oddNumber: fc.Arbitrary<number | RawNumber> = fc.oneof(
  fc.constantFrom<number | RawNumber>(
    0,
    -1,
    -0.5,
    1.5,
    2 ** 31,
    -(2 ** 31) - 1,
    2 ** 53 + 2,
    Number.MAX_SAFE_INTEGER,
    -Number.MAX_VALUE,
    1e30,
    -1e30,
    new RawNumber('9223372036854775807'),
    new RawNumber('9223372036854775808'),
    new RawNumber('-9223372036854775809'),
    new RawNumber('123456789012345678901234567890'),
    new RawNumber('1e400'),
    new RawNumber('-0'),
    new RawNumber('0.0000000000000000000000001'),
  ),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

export const deep: fc.Arbitrary<Deep> = fc
  .tuple(
    fc.constantFrom(2, 64, 500, 2_000, 10_000, 100_000),
    fc.constantFrom<'array' | 'object'>('array', 'object'),
  )
  .map(([depth, kind]) => new Deep(depth, kind));

/** Any JSON-ish value, of any type: for a field that expects something else. */
export const wrongType: fc.Arbitrary<unknown> = fc.oneof(
  oddString,
  oddNumber,
  fc.boolean(),
  fc.constant(null),
  fc.constant([]),
  fc.constant({}),
  fc.array(oddString, { maxLength: 3 }),
  fc.dictionary(oddString, oddString, { maxKeys: 3 }),
  deep,
);

const plainString = fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/);

/**
 * A value for `schema`: mostly of the right shape, with odd leaves, missing and extra fields, wrong
 * types. `strict`: always the right shape with every required field and mostly typical leaves, so
 * that the request passes validation and its odd leaves reach the service and the database.
 */
export function valueFor(schema: JsonSchema, depth = 0, strict = false): fc.Arbitrary<unknown> {
  if (strict) return typedValue(schema, depth, true);
  return fc.oneof(
    { arbitrary: typedValue(schema, depth, false), weight: 8 },
    { arbitrary: wrongType, weight: 1 },
  );
}

function typedValue(schema: JsonSchema, depth: number, strict: boolean): fc.Arbitrary<unknown> {
  const odd = strict ? 1 : 3;
  if (depth > 6) return fc.oneof(oddString, oddNumber);
  if (schema.enum && schema.enum.length > 0) {
    return strict
      ? fc.constantFrom(...schema.enum)
      : fc.oneof(
          { arbitrary: fc.constantFrom(...schema.enum), weight: 3 },
          { arbitrary: oddString, weight: 1 },
        );
  }
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives && alternatives.length > 0) {
    return fc.oneof(...alternatives.map((s) => valueFor(s, depth + 1, strict)));
  }
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  if (type === 'object' || schema.properties) return objectFor(schema, depth, strict);
  if (type === 'array') {
    const item = valueFor(schema.items ?? {}, depth + 1, strict);
    return fc.oneof(
      { arbitrary: fc.array(item, { minLength: strict ? 1 : 0, maxLength: 4 }), weight: 6 },
      { arbitrary: fc.array(fc.constant(0), { minLength: 5_000, maxLength: 5_000 }), weight: strict ? 0 : 1 },
    );
  }
  if (type === 'string') {
    const typical =
      schema.format === 'date-time'
        ? fc.date({ noInvalidDate: true }).map((d) => d.toISOString())
        : typeof schema.example === 'string'
          ? fc.constant(schema.example)
          : plainString;
    return fc.oneof({ arbitrary: typical, weight: 6 }, { arbitrary: oddString, weight: odd });
  }
  if (type === 'integer' || type === 'number') {
    const typical = fc.integer({
      min: schema.minimum ?? 0,
      max: Math.min(schema.maximum ?? 1000, 1_000_000),
    });
    return fc.oneof({ arbitrary: typical, weight: 6 }, { arbitrary: oddNumber, weight: odd });
  }
  if (type === 'boolean') return strict ? fc.boolean() : fc.oneof(fc.boolean(), wrongType);
  // untyped (free-form) values
  return fc.oneof(
    plainString,
    oddString,
    oddNumber,
    fc.dictionary(oddString, oddString, { maxKeys: 3 }),
    deep,
  );
}

function objectFor(
  schema: JsonSchema,
  depth: number,
  strict: boolean,
): fc.Arbitrary<Record<string, unknown>> {
  const props = schema.properties ?? {};
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [key, sub] of Object.entries(props)) model[key] = valueFor(sub, depth + 1, strict);
  const required = (schema.required ?? []).filter((k) => k in model);
  const shaped = strict
    ? fc.record(model, { requiredKeys: required })
    : fc.oneof(
        { arbitrary: fc.record(model, { requiredKeys: required }), weight: 4 },
        { arbitrary: fc.record(model, { requiredKeys: [] }), weight: 1 },
      );
  const additional =
    typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined;
  const extraValue = additional ? valueFor(additional, depth + 1, strict) : wrongType;
  const extra =
    strict && !additional
      ? fc.constant({})
      : fc.oneof(
          { arbitrary: fc.constant({}), weight: 3 },
          {
            arbitrary: fc.dictionary(additional ? plainString : oddString, extraValue, { maxKeys: 3 }),
            weight: 1,
          },
        );
  return fc.tuple(shaped, extra).map(([a, b]) => ({ ...b, ...(a as Record<string, unknown>) }));
}

/** Serialises a generated value to JSON text, writing {@link RawNumber} and {@link Deep} as they are. */
export function toJsonText(value: unknown): string {
  if (value instanceof RawNumber) return value.text;
  if (value instanceof Deep) {
    return value.kind === 'array'
      ? '['.repeat(value.depth) + ']'.repeat(value.depth)
      : '{"a":'.repeat(value.depth) + '1' + '}'.repeat(value.depth);
  }
  if (Array.isArray(value)) return `[${value.map(toJsonText).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}:${toJsonText(v)}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
