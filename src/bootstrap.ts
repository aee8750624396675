import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type tls from 'node:tls';
import { listenError, listeningLines } from './common/http/listening.js';
import { type DynamicModule, Logger, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { WfmExpressAdapter } from './common/http/wfm-express-adapter.js';
import express from 'express';
import { AppModule } from './app.module.js';
import { configureApp } from './app.setup.js';
import { AppLogger } from './common/logging/app-logger.js';
import type { AppConfig } from './config/config.js';
import { ensureAdminToken } from './infra/bootstrap/admin-token.js';
import { migrate } from './infra/database/migrator.js';
import { DependencyUnavailableError, ensureDatabase } from './infra/database/postgres-admin.js';
import { probeRedis } from './infra/redis/redis.js';
import { loadTlsMaterial, type TlsMaterial } from './infra/tls/tls-material.js';
import { TrustStore, tlsContextOptions } from './modules/enrollment/identity/trust-store.service.js';
import { DeviceAuthService } from './modules/enrollment/auth/device-auth.service.js';
import { deviceApiFallback } from './modules/enrollment/device-api-fallback.js';
import { ManifestService } from './modules/deployment-spec/manifests/manifest.service.js';
import { deviceFastPath } from './modules/deployment-spec/manifests/device-fast-path.js';
import { MetricsService } from './infra/metrics/metrics.service.js';
import { answerClientErrorsWithProblems } from './common/http/client-error.js';

export interface RunningService {
  app: NestExpressApplication;
  config: AppConfig;
  /** The HTTP(S) listener (absent for a worker-only process). */
  server?: http.Server | https.Server;
  /** Base URL of the listener, e.g. https://127.0.0.1:8443. */
  url?: string;
  tls?: TlsMaterial;
  adminToken: string;
  close(): Promise<void>;
}

const STARTUP_PROBE_MS = 5_000;

function describe(error: unknown): string {
  return error instanceof Error ? error.message || error.name : String(error);
}

/**
 * Start-up shared by `npm start` and the tests: check that PostgreSQL and Redis answer (one readable
 * error otherwise), create and migrate the database, prepare TLS, then start the Nest application
 * in the configured roles. The HTTPS server is created here (not by Nest) so that its TLS options
 * stay under our control.
 */
export async function startService(
  config: AppConfig,
  logger = new AppLogger(config.log.format, config.log.level),
  extraModules: (Type | DynamicModule)[] = [],
): Promise<RunningService> {
  const log = new Logger('Bootstrap');
  Logger.overrideLogger(logger);

  if (await ensureDatabase(config.database.url)) log.log('created the database');
  try {
    await probeRedis(config.redis.url, STARTUP_PROBE_MS);
  } catch (error) {
    throw new DependencyUnavailableError('Redis', config.redis.url, describe(error));
  }
  if (config.database.migrateOnStart) await migrate(config.database.url, (msg) => log.log(msg));

  const admin = await ensureAdminToken(config.dataDir, config.auth.adminToken);
  if (admin.created) log.log(`generated the bootstrap admin token in ${admin.file}`);
  else if (admin.file) log.log(`bootstrap admin token: ${admin.file}`);
  const effective: AppConfig = { ...config, auth: { ...config.auth, adminToken: admin.token } };
  const roles = [config.roles.api && 'api', config.roles.worker && 'worker'].filter(Boolean).join(',');

  const expressApp = express();
  const adapter = new WfmExpressAdapter(expressApp);
  const app = await NestFactory.create<NestExpressApplication>(
    AppModule.forRoot(effective, extraModules),
    adapter,
    { logger, bodyParser: false, abortOnError: false },
  );

  if (!config.roles.api) {
    await app.init();
    log.log(`margo-wfm started (roles: ${roles})`);
    return { app, config: effective, adminToken: admin.token, close: () => app.close() };
  }

  configureApp(app);
  await app.init();
  // after every route: unserved device-API paths authenticate, then 404 (see device-api-fallback.ts)
  adapter.setAfterRoutes(deviceApiFallback(app.get(DeviceAuthService)));
  const material = await loadTlsMaterial(config, (msg) => log.log(msg));
  const trust = app.get(TrustStore);
  await trust.initialize(material);
  const tls = config.http.plainHttp ? undefined : material;
  // The client certificate is requested but optional at the TLS layer (D15): the operator API and the
  // legacy profile share the port; rc.3 routes then demand a valid SVID and answer 401/403 problems.
  // The rc.3 poll's and downloads' successful answers skip the Express pipeline (device-fast-path.ts).
  const fastPath = deviceFastPath(
    app.get(DeviceAuthService),
    app.get(ManifestService),
    app.get(MetricsService),
  );
  const handler: http.RequestListener = (req, res) => {
    fastPath(req, res).then(
      (handled) => {
        if (!handled) expressApp(req, res);
      },
      () => {
        expressApp(req, res);
      },
    );
  };
  // Connection timeouts (docs/decisions.md, "Connection timeouts"): Node checks the header and request
  // deadlines every `connectionsCheckingInterval`, so that runs at a quarter of the header timeout (at
  // most every 2.5 s) for a cut close to the configured value.
  const timeouts = config.http;
  const httpOptions: http.ServerOptions = {
    headersTimeout: timeouts.headersTimeoutMs,
    requestTimeout: timeouts.requestTimeoutMs,
    keepAliveTimeout: timeouts.idleTimeoutMs,
    connectionsCheckingInterval: Math.min(2_500, Math.max(50, Math.floor(timeouts.headersTimeoutMs / 4))),
  };
  const server = tls
    ? https.createServer(
        {
          ...httpOptions,
          ...tlsContextOptions(tls, config),
          ca: trust.currentPem(),
          requestCert: true,
          rejectUnauthorized: false,
          handshakeTimeout: timeouts.handshakeTimeoutMs,
        },
        handler,
      )
    : http.createServer(httpOptions, handler);
  if (tls) {
    trust.attachServer(server as https.Server);
    // A failed or timed-out TLS handshake gets no HTTP answer: without this listener Node hands it to
    // `clientError`, whose problem answer cannot be written before a handshake, so the socket stayed open.
    server.on('tlsClientError', (_error: Error, socket: tls.TLSSocket) => socket.destroy());
  }
  answerClientErrorsWithProblems(server);
  // set again on the server object: older Node 20 releases read only these properties
  server.headersTimeout = timeouts.headersTimeoutMs;
  server.requestTimeout = timeouts.requestTimeoutMs;
  server.keepAliveTimeout = timeouts.idleTimeoutMs;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      void app.close();
      reject(listenError(error, config.http.host, config.http.port));
    });
    server.listen(config.http.port, config.http.host, () => {
      server.removeAllListeners('error');
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const scheme = tls ? 'https' : 'http';
  const host = ['0.0.0.0', '::'].includes(config.http.host) ? '127.0.0.1' : config.http.host;
  const url = `${scheme}://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
  for (const line of listeningLines({
    scheme,
    host: config.http.host,
    port: address.port,
    url,
    roles,
    config,
  })) {
    log.log(line);
  }

  const close = async (): Promise<void> => {
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    await app.close();
  };
  return { app, config: effective, server, url, tls, adminToken: admin.token, close };
}
