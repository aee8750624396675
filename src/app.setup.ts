import type { NestExpressApplication } from '@nestjs/platform-express';
import { SwaggerModule } from '@nestjs/swagger';
import { APP_CONFIG, type AppConfig } from './config/config.js';
import { bodyReaderMiddleware } from './common/http/body-reader.middleware.js';
import { CONSOLE_PATH, consoleRouter } from './common/http/console-static.js';
import { requestTargetMiddleware } from './common/http/request-target.middleware.js';
import { accessLogMiddleware } from './common/logging/access-log.middleware.js';
import { requestIdMiddleware } from './common/logging/request-context.js';
import { buildOpenApiDocument } from './common/openapi/build-document.js';
import { ProblemFilter, problemErrorMiddleware } from './common/problem/problem.filter.js';
import { createValidationPipe } from './common/problem/validation.js';
import { MetricsService } from './infra/metrics/metrics.service.js';

/**
 * The one place that shapes the HTTP pipeline; used by production (main.ts), the tests and the
 * OpenAPI writer, so all three see the same application.
 */
export function configureApp(app: NestExpressApplication): NestExpressApplication {
  const config = app.get<AppConfig>(APP_CONFIG);
  const metrics = app.get(MetricsService);

  app.disable('x-powered-by');
  app.set('etag', false); // Margo ETags are set explicitly, over exact bytes
  app.use(requestIdMiddleware);
  app.use(
    accessLogMiddleware((method, route, status, seconds) =>
      metrics.observeHttp(method, route, status, seconds),
    ),
  );
  if (config.http.corsOrigins.length > 0) {
    app.enableCors({
      origin: config.http.corsOrigins.includes('*') ? true : [...config.http.corsOrigins],
      credentials: !config.http.corsOrigins.includes('*'),
      exposedHeaders: ['ETag', 'Retry-After', 'X-Request-Id', 'Location'],
      maxAge: 600,
    });
  }
  app.use(requestTargetMiddleware);
  // the operator console (dist/console), before the body reader: it answers GET and HEAD only
  app.use(CONSOLE_PATH, consoleRouter());
  app.use(bodyReaderMiddleware(config.http.bodyLimitBytes));
  app.use(problemErrorMiddleware);
  app.useGlobalPipes(createValidationPipe());
  app.useGlobalFilters(new ProblemFilter());
  SwaggerModule.setup('docs', app, () => buildOpenApiDocument(app), { jsonDocumentUrl: 'docs/openapi.json' });
  return app;
}
