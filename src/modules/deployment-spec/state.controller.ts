import { applyDecorators, Controller, Get, Headers, Param, Res } from '@nestjs/common';
import { ApiHeader, ApiOkResponse, ApiOperation, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { ApiProblems } from '../../common/openapi/api-problems.decorator.js';
import type { AuthenticatedClient } from '../enrollment/auth/authenticated-client.js';
import { CurrentClient, LegacyDevice, Rc3Device } from '../enrollment/auth/guards.js';
import { BUNDLE_MEDIA_TYPE, MANIFEST_MEDIA_TYPE, ManifestService } from './manifest.service.js';
import { sendDocument, sendManifest } from './state.responses.js';

const IMMUTABLE = 'private, max-age=31536000, immutable';

const ApiManifest = () =>
  applyDecorators(
    ApiOperation({ summary: "The client's state manifest (RFC 8785 bytes; ETag = quoted sha256 of them)" }),
    ApiProduces(MANIFEST_MEDIA_TYPE),
    ApiHeader({ name: 'If-None-Match', required: false }),
    ApiHeader({ name: 'Accept', required: false }),
    ApiOkResponse({ description: 'The manifest (Cache-Control: private)' }),
    ApiResponse({ status: 304, description: 'If-None-Match matched' }),
  );

/** The Margo state-manifest and content API (spec §1.1 rc.3, §1.2 legacy); both profiles, one service. */
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
    const bytes = await this.manifests.document(client, deploymentId, digest);
    sendDocument(res, bytes, digest, 'application/yaml', IMMUTABLE, ifNoneMatch, acceptEncoding);
  }

  protected async bundleOf(
    client: AuthenticatedClient,
    digest: string,
    ifNoneMatch: string | undefined,
    res: Response,
  ) {
    const bytes = await this.manifests.bundle(client, digest);
    sendDocument(res, bytes, digest, BUNDLE_MEDIA_TYPE, IMMUTABLE, ifNoneMatch, undefined);
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
  @ApiOperation({
    summary: 'One ApplicationDeployment: the stored YAML bytes (ETag = quoted digest; gzip/br on request)',
  })
  @ApiProduces('application/yaml')
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
  @ApiOperation({ summary: "The client's deterministic tar.gz bundle of its ApplicationDeployments" })
  @ApiProduces(BUNDLE_MEDIA_TYPE)
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
  @ApiProduces('application/yaml')
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
  @ApiProduces(BUNDLE_MEDIA_TYPE)
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
