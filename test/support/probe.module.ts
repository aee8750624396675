import { Controller, Get, Module, Post } from '@nestjs/common';
import type { AuthenticatedClient } from '../../src/modules/enrollment/auth/authenticated-client.js';
import { CurrentClient, LegacyDevice, Rc3Device } from '../../src/modules/enrollment/auth/guards.js';

/** Test-only routes behind the real device guards: they echo who the caller was resolved to. */
@Controller()
class ProbeController {
  @Get('api/v1/_probe/whoami')
  @Rc3Device()
  rc3Whoami(@CurrentClient() client: AuthenticatedClient): AuthenticatedClient {
    return client;
  }

  @Get('api/v1/clients/:clientId/_probe/whoami')
  @LegacyDevice()
  legacyWhoami(@CurrentClient() client: AuthenticatedClient): AuthenticatedClient {
    return client;
  }

  @Post('api/v1/clients/:clientId/_probe/echo')
  @LegacyDevice()
  legacyEcho(@CurrentClient() client: AuthenticatedClient): AuthenticatedClient {
    return client;
  }
}

@Module({ controllers: [ProbeController] })
export class ProbeModule {}
