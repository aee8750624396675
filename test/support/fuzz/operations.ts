/**
 * Reads the operations out of an OpenAPI 3.1 document (the committed `openapi/openapi.json`), so the
 * fuzz suite covers every route the document lists without a hand-kept list. Pure: no I/O.
 */

export type JsonSchema = {
  $ref?: string;
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  enum?: unknown[];
  format?: string;
  minimum?: number;
  maximum?: number;
  allOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  example?: unknown;
  default?: unknown;
};

export interface OpenApiDocument {
  paths: Record<string, Record<string, OpenApiOperation>>;
  components?: { schemas?: Record<string, JsonSchema> };
}

interface OpenApiParameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema?: JsonSchema;
}

interface OpenApiOperation {
  operationId?: string;
  parameters?: OpenApiParameter[];
  requestBody?: { required?: boolean; content?: Record<string, { schema?: JsonSchema }> };
  security?: Record<string, string[]>[];
}

/** How an operation authenticates: the security scheme names of the document, or none. */
export type AuthScheme = 'mTLS' | 'httpSignature' | 'operator-token' | 'none';

export interface Parameter {
  name: string;
  schema: JsonSchema;
  required: boolean;
}

export interface Operation {
  id: string;
  method: string;
  /** The path template, e.g. `/api/v1/clients/{clientId}/capabilities/{deviceId}`. */
  template: string;
  /** Every `{name}` of the template, declared in the document or not. */
  pathParams: Parameter[];
  query: Parameter[];
  headers: Parameter[];
  /** Media type → schema of the request body; empty when the operation takes none. */
  body: Record<string, JsonSchema>;
  bodyRequired: boolean;
  auth: AuthScheme;
}

const METHODS = new Set(['get', 'put', 'post', 'delete', 'patch']);
const SCHEMES: AuthScheme[] = ['mTLS', 'httpSignature', 'operator-token'];

export function operationsOf(doc: OpenApiDocument): Operation[] {
  const ops: Operation[] = [];
  for (const [template, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (!METHODS.has(method)) continue;
      const params = op.parameters ?? [];
      const declared = (where: OpenApiParameter['in']): Parameter[] =>
        params
          .filter((p) => p.in === where)
          .map((p) => ({
            name: p.name,
            schema: resolve(doc, p.schema ?? {}),
            required: p.required === true,
          }));
      const inTemplate = [...template.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      const pathDeclared = declared('path');
      const pathParams = inTemplate.map(
        (name) => pathDeclared.find((p) => p.name === name) ?? { name, schema: {}, required: true },
      );
      const body: Record<string, JsonSchema> = {};
      for (const [media, content] of Object.entries(op.requestBody?.content ?? {})) {
        body[media] = resolve(doc, content.schema ?? {});
      }
      const schemeNames = (op.security ?? []).flatMap((s) => Object.keys(s));
      const auth = SCHEMES.find((s) => schemeNames.includes(s)) ?? 'none';
      ops.push({
        id: op.operationId ?? `${method} ${template}`,
        method: method.toUpperCase(),
        template,
        pathParams,
        query: declared('query'),
        headers: declared('header'),
        body,
        bodyRequired: op.requestBody?.required === true,
        auth,
      });
    }
  }
  return ops;
}

/** Resolves `$ref`s and merges `allOf`, to the depth a generator needs (cycles are cut at `depth`). */
export function resolve(doc: OpenApiDocument, schema: JsonSchema, depth = 0): JsonSchema {
  if (depth > 12) return {};
  if (schema.$ref) {
    const name = schema.$ref.replace('#/components/schemas/', '');
    const target = doc.components?.schemas?.[name];
    return target ? resolve(doc, target, depth + 1) : {};
  }
  let out: JsonSchema = { ...schema };
  if (schema.allOf) {
    delete out.allOf;
    for (const part of schema.allOf) {
      const r = resolve(doc, part, depth + 1);
      out = {
        ...r,
        ...out,
        properties: { ...r.properties, ...out.properties },
        required: [...(r.required ?? []), ...(out.required ?? [])],
      };
    }
  }
  if (out.properties) {
    out.properties = Object.fromEntries(
      Object.entries(out.properties).map(([k, v]) => [k, resolve(doc, v, depth + 1)]),
    );
  }
  if (out.items) out.items = resolve(doc, out.items, depth + 1);
  if (out.anyOf) out.anyOf = out.anyOf.map((s) => resolve(doc, s, depth + 1));
  if (out.oneOf) out.oneOf = out.oneOf.map((s) => resolve(doc, s, depth + 1));
  if (typeof out.additionalProperties === 'object') {
    out.additionalProperties = resolve(doc, out.additionalProperties, depth + 1);
  }
  return out;
}
