import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { polishDocument } from './polish.js';
import { FieldErrorDto, ProblemDto } from './problem.dto.js';

/** Sorts object keys recursively (arrays keep their order) so the committed file diffs stably. */
function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, sortKeys((value as Record<string, unknown>)[key])]),
    );
  }
  return value;
}

export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('margo-wfm')
    .setDescription(
      'Margo Workload Fleet Manager: the Margo device API (rc.3 mutual TLS and the legacy clientId profile) and the operator API.',
    )
    .setVersion('0.1.0')
    .setOpenAPIVersion('3.1.0')
    .addSecurity('operator-token', {
      type: 'http',
      scheme: 'bearer',
      description:
        'Opaque operator token (`wfm_<role>_…`, not a JWT): the bootstrap admin token or one created with ' +
        '`POST /operator/v1/tokens`. Roles: admin > operator > viewer.',
    })
    .addSecurity('mTLS', {
      type: 'mutualTLS' as 'http', // OpenAPI 3.1 type; @nestjs/swagger's union predates it
      description:
        'Mutual TLS (rc.3 profile): the client presents its WFM Client X.509-SVID ' +
        '(`spiffe://<td>/margo/wfm/<wfm-id>/client/<id>`), which must be in the accepted-client policy.',
    })
    .addSecurity('httpSignature', {
      type: 'apiKey',
      in: 'header',
      name: 'Signature',
      description:
        'HTTP Message Signatures (legacy profile): RFC 9421 `Signature-Input`/`Signature` over `@method`, ' +
        '`@target-uri` (and `content-digest` with a body, RFC 9530), made with the key of the onboarded ' +
        'client certificate; `keyid` is the hex SHA-256 of its SPKI.',
    })
    .build();
  const document = SwaggerModule.createDocument(app, config, {
    operationIdFactory: (_controller, method) => method,
    extraModels: [ProblemDto, FieldErrorDto],
  });
  // polished as plain JSON (no undefined members), the form it is committed in
  return sortKeys(polishDocument(JSON.parse(JSON.stringify(document)) as OpenAPIObject)) as OpenAPIObject;
}

export function serializeOpenApi(document: OpenAPIObject): string {
  return JSON.stringify(document, null, 2) + '\n';
}
