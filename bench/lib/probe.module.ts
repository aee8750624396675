import { Controller, Get, Module } from '@nestjs/common';
import type { AuthenticatedClient } from '../../src/modules/enrollment/auth/authenticated-client.js';
import { CurrentClient, Rc3Device } from '../../src/modules/enrollment/auth/guards.js';

export const PROBE_PATH = '/api/v1/_bench/whoami';

/** Bench-only route behind the real rc.3 guard: answers the small AuthenticatedClient JSON. */
@Controller()
class BenchProbeController {
  @Get(PROBE_PATH.slice(1))
  @Rc3Device()
  whoami(@CurrentClient() client: AuthenticatedClient): AuthenticatedClient {
    return client;
  }
}

@Module({ controllers: [BenchProbeController] })
export class BenchProbeModule {}
