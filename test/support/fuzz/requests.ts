import fc from 'fast-check';
import type { Operation, Parameter } from './operations.js';
import { Deep, deep, oddString, RawNumber, toJsonText, valueFor, wrongType } from './values.js';

/**
 * One generated request for an operation of the OpenAPI document: path parameters (known good ids,
 * odd strings, percent garbage), query and header parameters, a body of the right shape or not, a
 * media type right or wrong, and how it authenticates. Pure: sending it is the suite's business.
 */

/** `valid`: the operation's own credentials; `bad`: wrong ones (other key, unaccepted SVID, bogus token). */
export type AuthMode = 'valid' | 'bad' | 'none';

export interface FuzzRequest {
  operation: string;
  method: string;
  /** Path with every parameter substituted, percent-encoded or raw garbage as generated. */
  path: string;
  /** `?…` or empty. */
  query: string;
  headers: Record<string, string>;
  body?: string | Buffer;
  /** The generated body before serialisation (for classifying a failure). */
  bodyValue?: unknown;
  /** The path parameters as generated (before encoding). */
  params: Record<string, string>;
  auth: AuthMode;
}

/** Ids that exist in the service under test, by path parameter name, so requests reach past lookups. */
export type KnownValues = Record<string, string[]>;

const PERCENT_GARBAGE = [
  '%',
  '%0',
  '%zz',
  '%E0%A4%A',
  '%C0%AF',
  '%FF%FE',
  '%2F..%2F',
  '..',
  '.',
  '%00',
  '%25%',
];

const HEADER_SAFE = /[^\t\x20-\x7e]/g;

const WRONG_MEDIA_TYPES = [
  'text/plain',
  'application/xml',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/json; charset=utf-16',
  'application/octet-stream',
  'application/problem+json',
  '*/*',
  ';;;',
];

const GARBAGE_BODIES: readonly (string | Buffer)[] = [
  '',
  '{',
  '{"a":',
  'null',
  '[]',
  '"a string"',
  '123',
  '\u0000',
  '{"a":1,"a":2}',
  '{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}',
  'a=b&c=d',
  '<?xml version="1.0"?><a/>',
  Buffer.from([0xff, 0xfe, 0x00, 0x7b]),
  Buffer.from('{"a":"\\ud800"}'),
  '{"a":"\\u0000"}',
  'a: &a [1]\nb: *a\nc: !!js/function "x"\n',
  '---\n- [\n',
];

/**
 * Like encodeURIComponent, but a lone surrogate (which it refuses) is written as the three bytes a
 * naive UTF-8 encoder would produce (WTF-8): invalid UTF-8, as an attacker would send it.
 */
export function percentEncode(s: string): string {
  let out = '';
  for (const ch of s) {
    const cu = ch.charCodeAt(0);
    if (ch.length === 1 && cu >= 0xd800 && cu <= 0xdfff) {
      out += [0xe0 | (cu >> 12), 0x80 | ((cu >> 6) & 0x3f), 0x80 | (cu & 0x3f)]
        .map((b) => `%${b.toString(16).toUpperCase()}`)
        .join('');
    } else {
      out += encodeURIComponent(ch);
    }
  }
  return out;
}

function pathValue(param: Parameter, known: KnownValues): fc.Arbitrary<{ raw: string; encoded: string }> {
  // known ids, and the document's example (a device id like `gw-1/plc-3` keeps its slashes)
  const example = typeof param.schema.example === 'string' ? [param.schema.example] : [];
  const good = [...(known[param.name] ?? []), ...example];
  const encoded = (s: string) => ({ raw: s, encoded: percentEncode(s) });
  const bySegment = (s: string) => ({ raw: s, encoded: s.split('/').map(percentEncode).join('/') });
  return fc.oneof(
    {
      arbitrary: good.length > 0 ? fc.constantFrom(...good).map(bySegment) : oddString.map(encoded),
      weight: 3,
    },
    { arbitrary: oddString.map(encoded), weight: 3 },
    { arbitrary: fc.constantFrom(...PERCENT_GARBAGE).map((s) => ({ raw: s, encoded: s })), weight: 1 },
  );
}

function scalarText(v: unknown): string {
  if (v instanceof RawNumber) return v.text;
  if (v instanceof Deep) return '['.repeat(Math.min(v.depth, 2000));
  return typeof v === 'string' ? v : JSON.stringify(v);
}

export function requestFor(op: Operation, known: KnownValues): fc.Arbitrary<FuzzRequest> {
  const path = fc.tuple(...op.pathParams.map((p) => pathValue(p, known))).map((values) => {
    let out = op.template;
    const params: Record<string, string> = {};
    op.pathParams.forEach((p, i) => {
      out = out.replace(`{${p.name}}`, values[i].encoded);
      params[p.name] = values[i].raw;
    });
    return { path: out, params };
  });

  const queryParts = fc.tuple(
    ...op.query.map((q) =>
      fc.option(
        fc.oneof(valueFor(q.schema), oddString).map((v) => [`${q.name}=${percentEncode(scalarText(v))}`]),
        { freq: 2 },
      ),
    ),
    fc.option(
      fc.oneof(
        fc.tuple(oddString, oddString).map(([k, v]) => [`${percentEncode(k)}=${percentEncode(v)}`]),
        fc.constantFrom(...PERCENT_GARBAGE).map((g) => [`x=${g}`]),
        op.query.length > 0
          ? fc.constant([`${op.query[0].name}=1`, `${op.query[0].name}=2`])
          : fc.constant([]),
      ),
      { freq: 3 },
    ),
  );
  const query = queryParts.map((parts) => {
    const flat = parts.flatMap((p) => p ?? []);
    return flat.length > 0 ? `?${flat.join('&')}` : '';
  });

  const headerParams = fc.tuple(
    ...op.headers.map((h) =>
      fc.option(
        fc
          .oneof(valueFor(h.schema), oddString)
          .map((v) => scalarText(v).replace(HEADER_SAFE, '').slice(0, 4000)),
        { freq: 2 },
      ),
    ),
  );

  const medias = Object.keys(op.body);
  const body: fc.Arbitrary<{ value?: unknown; text?: string | Buffer; contentType?: string }> =
    medias.length === 0
      ? fc.oneof(
          { arbitrary: fc.constant({}), weight: 6 },
          {
            arbitrary: wrongType.map((v) => ({
              value: v,
              text: toJsonText(v),
              contentType: 'application/json',
            })),
            weight: 1,
          },
        )
      : fc.constantFrom(...medias).chain((media) => {
          const schema = op.body[media];
          const serialise = (v: unknown) => ({
            value: v,
            text: media.includes('json') ? toJsonText(v) : scalarText(v),
          });
          const shaped = valueFor(schema).map(serialise);
          const nearlyValid = valueFor(schema, 0, true).map(serialise);
          const deepInside = fc
            .tuple(valueFor(schema), fc.oneof(oddString, fc.constant('parameters')), deep)
            .map(([v, key, d]) => {
              const value = v !== null && typeof v === 'object' && !Array.isArray(v) ? { ...v, [key]: d } : d;
              return { value, text: toJsonText(value) };
            });
          const garbage = fc.constantFrom(...GARBAGE_BODIES).map((text) => ({ value: undefined, text }));
          const contentType = fc.oneof(
            { arbitrary: fc.constant<string | undefined>(media), weight: 8 },
            { arbitrary: fc.constantFrom<string | undefined>(...WRONG_MEDIA_TYPES), weight: 1 },
            { arbitrary: fc.constant<string | undefined>(undefined), weight: 1 },
          );
          return fc
            .tuple(
              fc.oneof(
                { arbitrary: shaped, weight: 3 },
                { arbitrary: nearlyValid, weight: 3 },
                { arbitrary: deepInside, weight: 1 },
                { arbitrary: garbage, weight: 1 },
              ),
              contentType,
            )
            .map(([b, ct]) => ({ ...b, contentType: ct }));
        });

  const auth: fc.Arbitrary<AuthMode> =
    op.auth === 'none'
      ? fc.constant('none')
      : fc.oneof(
          { arbitrary: fc.constant<AuthMode>('valid'), weight: 4 },
          { arbitrary: fc.constantFrom<AuthMode>('bad', 'none'), weight: 1 },
        );

  return fc.record({ path, query, headerParams, body, auth }).map((g) => {
    const headers: Record<string, string> = {};
    op.headers.forEach((h, i) => {
      const v = g.headerParams[i];
      if (v !== null && v !== undefined) headers[h.name.toLowerCase()] = v;
    });
    if (g.body.contentType !== undefined) headers['content-type'] = g.body.contentType;
    return {
      operation: op.id,
      method: op.method,
      path: g.path.path,
      query: g.query,
      headers,
      body: g.body.text,
      bodyValue: g.body.value,
      params: g.path.params,
      auth: g.auth,
    };
  });
}
