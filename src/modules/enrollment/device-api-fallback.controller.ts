import { All, Controller } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { NotFoundError } from '../../common/problem/domain-error.js';
import { LegacyDevice, Rc3Device } from './auth/guards.js';

/**
 * Registered after every feature module: a device-API path that no route serves is still
 * authenticated first, so an unauthenticated caller learns nothing about which routes exist (401),
 * and an authenticated one gets a plain 404 problem.
 */
@ApiExcludeController()
@Controller('api/v1')
export class DeviceApiFallbackController {
  @All('clients/:clientId/*rest')
  @LegacyDevice()
  legacyFallback(): never {
    throw new NotFoundError('No such route in the Margo device API (legacy profile)');
  }

  @All('*rest')
  @Rc3Device()
  rc3Fallback(): never {
    throw new NotFoundError('No such route in the Margo device API');
  }
}
