import type { OpenAPIObject } from '@nestjs/swagger';

/** Tags in the order a reader needs them: the operator API first, then the device API, then probes. */
export const TAGS: readonly { name: string; description: string }[] = [
  {
    name: 'Operator: application packages',
    description:
      'Publish, list and delete application package versions (Margo ApplicationDescriptions, YAML or JSON).',
  },
  {
    name: 'Operator: deployments',
    description:
      'Deploy a package version to one device or to every device a selector matches; change parameters ' +
      '(JSON Merge Patch), page through targets, set device-level overrides.',
  },
  {
    name: 'Operator: devices',
    description:
      'The device inventory as the clients report it: capabilities, labels, gateway trees, history.',
  },
  {
    name: 'Operator: clients',
    description:
      'WFM clients of both profiles: accept rc.3 clients, approve or reject legacy onboarding requests, ' +
      'polling and downtime settings.',
  },
  {
    name: 'Operator: access',
    description: 'Operator tokens (roles admin, operator, viewer) and pre-registered device certificates.',
  },
  {
    name: 'Operator: status',
    description: 'Deployment status as devices report it: history, fleet rollup, failing targets, orphans.',
  },
  {
    name: 'Operator: events',
    description: 'The operator event log as a live Server-Sent Events stream.',
  },
  {
    name: 'Device API (rc.3)',
    description:
      'The Margo device API, rc.3 profile: the management agent authenticates with mutual TLS (its WFM ' +
      'Client X.509-SVID).',
  },
  {
    name: 'Device API (legacy profile)',
    description:
      'The Margo device API, legacy profile: onboarding with a client certificate, then RFC 9421 HTTP ' +
      'message signatures on every request.',
  },
  { name: 'Health', description: 'Liveness and readiness probes for orchestrators (no authentication).' },
];

const ROLE_TEXT: Record<string, string> = {
  viewer: 'Required role: `viewer` (any operator token: viewer, operator or admin).',
  operator: 'Required role: `operator` (an operator or admin token).',
  admin: 'Required role: `admin`.',
};

const SUCCESS_TEXT: Record<string, string> = {
  '200': 'OK',
  '201': 'Created',
  '202': 'Accepted: the change takes effect asynchronously',
  '204': 'Done (no content)',
};

const EXAMPLE_VALUES: Record<string, unknown> = {
  uuid: '6b1f3c52-0d2e-4c8a-9a51-2f0f5e6c7d80',
  'date-time': '2026-12-02T14:00:00.000Z',
  binary: undefined,
};

type Schema = Record<string, unknown>;
type Operation = Record<string, unknown> & {
  summary?: string;
  description?: string;
  parameters?: { name: string; in: string }[];
  requestBody?: { content?: Record<string, { schema?: Schema; example?: unknown; examples?: unknown }> };
  responses?: Record<
    string,
    { description?: string; content?: Record<string, { schema?: Schema; example?: unknown }> }
  >;
  security?: unknown[];
  'x-required-role'?: string;
};

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

function refName(schema: Schema | undefined): string | undefined {
  const ref = schema?.$ref;
  return typeof ref === 'string' ? ref.split('/').pop() : undefined;
}

/** A plausible example of a schema, from the `example`s of its properties where the DTOs give them. */
export function exampleOf(document: OpenAPIObject, schema: Schema | undefined, depth = 0): unknown {
  if (!schema || depth > 16) return undefined;
  if (schema.example !== undefined) return schema.example;
  const name = refName(schema);
  if (name) return exampleOf(document, document.components?.schemas?.[name] as Schema, depth + 1);
  for (const key of ['allOf', 'oneOf', 'anyOf']) {
    const list = schema[key] as Schema[] | undefined;
    if (list?.length) return exampleOf(document, list[0], depth + 1);
  }
  if (Array.isArray(schema.enum)) return (schema.enum as unknown[])[0];
  if (schema.default !== undefined) return schema.default;
  const type: unknown = Array.isArray(schema.type) ? (schema.type as unknown[])[0] : schema.type;
  switch (type) {
    case 'object': {
      const properties = (schema.properties ?? {}) as Record<string, Schema>;
      if (Object.keys(properties).length === 0) return {};
      const entries = Object.entries(properties)
        .map(([key, value]) => [key, exampleOf(document, value, depth + 1)] as const)
        .filter(([, value]) => value !== undefined);
      return Object.fromEntries(entries);
    }
    case 'array': {
      const item = exampleOf(document, schema.items as Schema, depth + 1);
      return item === undefined ? [] : [item];
    }
    case 'string':
      return typeof schema.format === 'string' && schema.format in EXAMPLE_VALUES
        ? EXAMPLE_VALUES[schema.format]
        : 'string';
    case 'integer':
    case 'number':
      return typeof schema.minimum === 'number' ? schema.minimum : 1;
    case 'boolean':
      return true;
    default:
      return undefined;
  }
}

function successText(status: string, content: Record<string, { schema?: Schema }> | undefined): string {
  const name = refName(Object.values(content ?? {})[0]?.schema);
  if (name?.endsWith('PageDto')) return 'One page of the list: `{items, next}`';
  return SUCCESS_TEXT[status] ?? 'Success';
}

/**
 * What the decorators cannot say once per operation: tags, servers, security schemes, the required
 * role (description and `x-required-role`), descriptions of operations and success responses,
 * path parameters of class-level routes, request and response examples generated from the schemas.
 */
export function polishDocument(document: OpenAPIObject): OpenAPIObject {
  document.tags = TAGS.map((t) => ({ ...t }));
  document.servers = [
    {
      url: 'https://localhost:8443',
      description: 'Development server (`npm start`): operator and device API on one TLS port',
    },
  ];
  document.info.license = { name: 'Apache-2.0', url: 'https://www.apache.org/licenses/LICENSE-2.0' };
  for (const [path, item] of Object.entries(document.paths)) {
    const pathParams = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
    for (const method of METHODS) {
      const op = (item as Record<string, Operation | undefined>)[method];
      if (!op) continue;
      const declared = new Set((op.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name));
      for (const name of pathParams.filter((n) => !declared.has(n))) {
        op.parameters = [
          ...(op.parameters ?? []),
          { name, in: 'path', required: true, schema: { type: 'string' } } as { name: string; in: string },
        ];
      }
      const role = op['x-required-role'];
      const parts = [op.description?.trim() || `${op.summary ?? ''}.`];
      if (role) parts.push(ROLE_TEXT[role] ?? `Required role: \`${role}\`.`);
      op.description = parts.join('\n\n');
      if (!op.security) op.security = [];
      for (const media of Object.values(op.requestBody?.content ?? {})) {
        if (media.example === undefined && media.examples === undefined) {
          const example = exampleOf(document, media.schema);
          if (example !== undefined) media.example = example;
        }
      }
      for (const [status, response] of Object.entries(op.responses ?? {})) {
        if (!/^2\d\d$/.test(status)) continue;
        if (!response.description) response.description = successText(status, response.content);
        for (const [type, media] of Object.entries(response.content ?? {})) {
          if (type.includes('json') && media.example === undefined) {
            const example = exampleOf(document, media.schema);
            if (example !== undefined) media.example = example;
          }
        }
      }
    }
  }
  return document;
}
