import { applyDecorators, Controller, Get, Headers, Param, Res } from '@nestjs/common';
import { ApiHeader, ApiOkResponse, ApiOperation, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { ApiProblems } from '../../../common/openapi/api-problems.decorator.js';
import type { AuthenticatedClient } from '../../enrollment/auth/authenticated-client.js';
import { CurrentClient, LegacyDevice, Rc3Device } from '../../enrollment/auth/guards.js';
import { BUNDLE_MEDIA_TYPE, MANIFEST_MEDIA_TYPE, ManifestService } from './manifest.service.js';
import { sendBundle, sendManifest, sendYaml } from './state.responses.js';

/**
 * The Margo state-manifest and content API (spec §1.1 rc.3, §1.2 legacy): the manifest poll, one
 * ApplicationDeployment's YAML, and the bundle, for both profiles, all answered by ManifestService.
 *
 * Fast path: the rc.3 reads `GET /api/v1/deployments`, `…/deployments/{id}/{digest}` and
 * `…/bundles/{digest}` usually do not reach this controller. The HTTP server (bootstrap.ts) first
 * offers every request to `deviceFastPath` (device-fast-path.ts), which answers their 200 and 304
 * cases without Express/Nest, with the same DeviceAuthService, ManifestService methods, response
 * writers (state.responses.ts), request id, access line and metric. A breakpoint here therefore only
 * fires for the rc.3 routes' other answers (401/403, 404, 406, 503), which the fast path hands back to
 * the normal pipeline, and for the legacy profile's routes.
 */

const ApiManifest = () =>
  applyDecorators(
    ApiOperation({ summary: "The client's state manifest (RFC 8785 bytes; ETag = quoted sha256 of them)" }),
    ApiProduces(MANIFEST_MEDIA_TYPE),
    ApiHeader({ name: 'If-None-Match', required: false }),
    ApiHeader({ name: 'Accept', required: false }),
    ApiOkResponse({
      description: 'The manifest (Cache-Control: private)',
      content: {
        [MANIFEST_MEDIA_TYPE]: {
          schema: {
            type: 'object',
            required: ['manifestVersion', 'bundle', 'deployments'],
            properties: {
              manifestVersion: { type: 'integer', description: 'Grows with every change of content' },
              bundle: {
                type: ['object', 'null'],
                description: 'The tar.gz of every ApplicationDeployment (null when there are none)',
                properties: {
                  mediaType: { type: 'string' },
                  digest: { type: 'string' },
                  sizeBytes: { type: 'integer' },
                  url: { type: 'string' },
                },
              },
              deployments: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    deploymentId: { type: 'string' },
                    digest: { type: 'string' },
                    sizeBytes: { type: 'integer' },
                    url: { type: 'string' },
                  },
                },
              },
            },
          },
          example: {
            manifestVersion: 7,
            bundle: {
              mediaType: BUNDLE_MEDIA_TYPE,
              digest: 'sha256:4d1c…',
              sizeBytes: 912,
              url: '/api/v1/bundles/sha256:4d1c…',
            },
            deployments: [
              {
                deploymentId: '6b1f3c52-0d2e-4c8a-9a51-2f0f5e6c7d80',
                digest: 'sha256:9a0e…',
                sizeBytes: 704,
                url: '/api/v1/deployments/6b1f3c52-0d2e-4c8a-9a51-2f0f5e6c7d80/sha256:9a0e…',
              },
            ],
          },
        },
      },
    }),
    ApiResponse({ status: 304, description: 'If-None-Match matched' }),
  );

const ApiYamlDocument = () =>
  applyDecorators(
    ApiOperation({
      summary: 'One ApplicationDeployment: the stored YAML bytes (ETag = quoted digest; gzip/br on request)',
      description:
        'The exact bytes whose sha256 is the digest in the manifest; immutable, so cacheable for a year.',
    }),
    ApiProduces('application/yaml'),
    ApiHeader({ name: 'If-None-Match', required: false }),
    ApiHeader({ name: 'Accept-Encoding', required: false }),
    ApiOkResponse({
      description: 'The ApplicationDeployment YAML (Cache-Control: private, max-age=31536000, immutable)',
      content: {
        'application/yaml': {
          schema: { type: 'string' },
          example:
            'apiVersion: margo.org/v1-alpha1\nkind: ApplicationDeployment\nmetadata:\n  name: line-monitor\n',
        },
      },
    }),
    ApiResponse({ status: 304, description: 'If-None-Match matched' }),
  );

const ApiBundle = () =>
  applyDecorators(
    ApiOperation({
      summary: "The client's deterministic tar.gz bundle of its ApplicationDeployments",
      description:
        'One `<deploymentId>.yaml` per ApplicationDeployment of the manifest; addressed by digest.',
    }),
    ApiProduces(BUNDLE_MEDIA_TYPE),
    ApiHeader({ name: 'If-None-Match', required: false }),
    ApiOkResponse({
      description: 'The bundle bytes (Cache-Control: private, max-age=31536000, immutable)',
      content: { [BUNDLE_MEDIA_TYPE]: { schema: { type: 'string', format: 'binary' } } },
    }),
    ApiResponse({ status: 304, description: 'If-None-Match matched' }),
  );

/** The routes of both profiles share these handlers. */
abstract class StateApi {
  constructor(protected readonly manifests: ManifestService) {}

  protected async manifest(
    client: AuthenticatedClient,
    accept: string | undefined,
    ifNoneMatch: string | undefined,
    res: Response,
  ) {
    sendManifest(res, await this.manifests.poll(client, accept, ifNoneMatch));
  }

  protected async yaml(
    client: AuthenticatedClient,
    deploymentId: string,
    digest: string,
    acceptEncoding: string | undefined,
    ifNoneMatch: string | undefined,
    res: Response,
  ) {
    const doc = await this.manifests.document(client, deploymentId, digest);
    sendYaml(res, doc, ifNoneMatch, acceptEncoding);
  }

  protected async bundleOf(
    client: AuthenticatedClient,
    digest: string,
    ifNoneMatch: string | undefined,
    res: Response,
  ) {
    const doc = await this.manifests.bundle(client, digest);
    sendBundle(res, doc, ifNoneMatch);
  }
}

@ApiTags('Device API (rc.3)')
@Controller('api/v1')
export class Rc3StateController extends StateApi {
  constructor(manifests: ManifestService) {
    super(manifests);
  }

  @Get('deployments')
  @Rc3Device()
  @ApiManifest()
  @ApiProblems(406, 503)
  getStateManifest(
    @CurrentClient() client: AuthenticatedClient,
    @Headers('accept') accept: string | undefined,
    @Headers('if-none-match') ifNoneMatch: string | undefined,
    @Res() res: Response,
  ): Promise<void> {
    return this.manifest(client, accept, ifNoneMatch, res);
  }

  @Get('deployments/:deploymentId/:digest')
  @Rc3Device()
  @ApiYamlDocument()
  @ApiProblems(404)
  getDeploymentYaml(
    @CurrentClient() client: AuthenticatedClient,
    @Param('deploymentId') deploymentId: string,
    @Param('digest') digest: string,
    @Headers('accept-encoding') acceptEncoding: string | undefined,
    @Headers('if-none-match') ifNoneMatch: string | undefined,
    @Res() res: Response,
  ): Promise<void> {
    return this.yaml(client, deploymentId, digest, acceptEncoding, ifNoneMatch, res);
  }

  @Get('bundles/:digest')
  @Rc3Device()
  @ApiBundle()
  @ApiProblems(404)
  getBundle(
    @CurrentClient() client: AuthenticatedClient,
    @Param('digest') digest: string,
    @Headers('if-none-match') ifNoneMatch: string | undefined,
    @Res() res: Response,
  ): Promise<void> {
    return this.bundleOf(client, digest, ifNoneMatch, res);
  }
}

@ApiTags('Device API (legacy profile)')
@Controller('api/v1/clients/:clientId')
export class LegacyStateController extends StateApi {
  constructor(manifests: ManifestService) {
    super(manifests);
  }

  @Get('deployments')
  @LegacyDevice()
  @ApiManifest()
  @ApiProblems(406, 503)
  getLegacyStateManifest(
    @CurrentClient() client: AuthenticatedClient,
    @Headers('accept') accept: string | undefined,
    @Headers('if-none-match') ifNoneMatch: string | undefined,
    @Res() res: Response,
  ): Promise<void> {
    return this.manifest(client, accept, ifNoneMatch, res);
  }

  @Get('deployments/:deploymentId/:digest')
  @LegacyDevice()
  @ApiYamlDocument()
  @ApiProblems(404)
  getLegacyDeploymentYaml(
    @CurrentClient() client: AuthenticatedClient,
    @Param('deploymentId') deploymentId: string,
    @Param('digest') digest: string,
    @Headers('accept-encoding') acceptEncoding: string | undefined,
    @Headers('if-none-match') ifNoneMatch: string | undefined,
    @Res() res: Response,
  ): Promise<void> {
    return this.yaml(client, deploymentId, digest, acceptEncoding, ifNoneMatch, res);
  }

  @Get('bundles/:digest')
  @LegacyDevice()
  @ApiBundle()
  @ApiProblems(404)
  getLegacyBundle(
    @CurrentClient() client: AuthenticatedClient,
    @Param('digest') digest: string,
    @Headers('if-none-match') ifNoneMatch: string | undefined,
    @Res() res: Response,
  ): Promise<void> {
    return this.bundleOf(client, digest, ifNoneMatch, res);
  }
}
