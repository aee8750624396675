import { NestFactory } from '@nestjs/core';
import { ExpressAdapter, type NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from '../../app.module.js';
import { configureApp } from '../../app.setup.js';
import type { AppConfig } from '../../config/config.js';
import { buildOpenApiDocument, serializeOpenApi } from '../../common/openapi/build-document.js';

/** Builds the application (without listening) and returns the OpenAPI document as committed text. */
export async function generateOpenApiText(config: AppConfig): Promise<string> {
  const app = await NestFactory.create<NestExpressApplication>(
    AppModule.forRoot(config),
    new ExpressAdapter(),
    {
      logger: false,
      abortOnError: false,
      bodyParser: false,
    },
  );
  try {
    configureApp(app);
    return serializeOpenApi(buildOpenApiDocument(app));
  } finally {
    await app.close();
  }
}

/** Where two OpenAPI texts first differ (a JSON path), or undefined when they are identical. */
export function firstOpenApiDifference(committed: string, generated: string): string | undefined {
  if (committed === generated) return undefined;
  const walk = (a: unknown, b: unknown, path: string): string | undefined => {
    if (JSON.stringify(a) === JSON.stringify(b)) return undefined;
    if (a && b && typeof a === 'object' && typeof b === 'object') {
      const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
      for (const key of keys) {
        const found = walk(
          (a as Record<string, unknown>)[key],
          (b as Record<string, unknown>)[key],
          `${path}/${key}`,
        );
        if (found) return found;
      }
    }
    return path || '/';
  };
  try {
    return walk(JSON.parse(committed), JSON.parse(generated), '') ?? '(formatting)';
  } catch {
    return '(committed file is not JSON)';
  }
}
