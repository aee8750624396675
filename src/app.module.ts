import { type DynamicModule, Module, type Type } from '@nestjs/common';
import type { AppConfig } from './config/config.js';
import { ConfigModule } from './config/config.module.js';
import { HealthModule } from './health/health.module.js';
import { AuditModule } from './infra/audit/audit.module.js';
import { DatabaseModule } from './infra/database/database.module.js';
import { EventLogModule } from './infra/events/event-log.module.js';
import { MetricsModule } from './infra/metrics/metrics.module.js';
import { QueueModule } from './infra/queue/queue.module.js';
import { RedisModule } from './infra/redis/redis.module.js';
import { AuditQueryModule } from './modules/audit/audit.module.js';
import { DeploymentSpecModule } from './modules/deployment-spec/deployment-spec.module.js';
import { DeviceCapabilityModule } from './modules/device-capability/device-capability.module.js';
import { EnrollmentModule } from './modules/enrollment/enrollment.module.js';
import { EventsModule } from './modules/events/events.module.js';
import { StatusModule } from './modules/status/status.module.js';

@Module({})
export class AppModule {
  /** `extraModules`: for tests that mount probe routes behind the real guards. */
  static forRoot(config: AppConfig, extraModules: (Type | DynamicModule)[] = []): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        DatabaseModule,
        RedisModule,
        QueueModule.forRoot(),
        MetricsModule,
        EventLogModule,
        AuditModule,
        EventsModule,
        HealthModule,
        // the feature modules, each depending only on those listed before it
        EnrollmentModule,
        AuditQueryModule,
        DeviceCapabilityModule.forRoot(config.roles),
        DeploymentSpecModule.forRoot(config.roles),
        StatusModule.forRoot(config.roles),
        ...extraModules,
      ],
    };
  }
}
