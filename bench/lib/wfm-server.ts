import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { type RunningService, startService } from '../../src/bootstrap.js';
import { AppLogger } from '../../src/common/logging/app-logger.js';
import { loadConfig } from '../../src/config/config.js';
import { type ParentMessage, StatsWindow, toParent } from './ipc.js';
import { BenchProbeModule } from './probe.module.js';

/**
 * Child process: the real service (Postgres, Redis, TLS, every module) plus one bench route behind
 * @Rc3Device(), configured from the environment the parent set (with WFM_ROLES=worker: the queue
 * consumers only, no listener). Reports its URL and admin token over IPC, answers `stats` with its TLS handshake counters and CPU time, and stops on `stop`, SIGINT,
 * SIGTERM or when the parent goes away.
 */
const stats = new StatsWindow();
let service: RunningService | undefined;
let stopping = false;

function stop(code: number): void {
  if (stopping) return;
  stopping = true;
  const force = setTimeout(() => process.exit(code || 1), 5_000);
  force.unref();
  (service ? service.close() : Promise.resolve()).then(
    () => process.exit(code),
    () => process.exit(1),
  );
}

process.on('SIGINT', () => stop(130));
process.on('SIGTERM', () => stop(143));
process.on('disconnect', () => stop(0));
process.on('message', (raw: unknown) => {
  const message = raw as ParentMessage;
  if (message.type === 'stats') toParent({ type: 'stats', ...stats.take() });
  else if (message.type === 'stop') stop(0);
});

try {
  const config = loadConfig(process.env);
  service = await startService(config, new AppLogger(config.log.format, config.log.level), [
    BenchProbeModule,
  ]);
  const server = service.server;
  if (!config.roles.api) {
    toParent({ type: 'worker-ready' }); // WFM_ROLES=worker: no listener, consumes the queues only
  } else {
    if (!server || !service.url) throw new Error('the service has no HTTPS listener');
    server.on('secureConnection', (socket: TLSSocket) => stats.onSecureConnection(socket.isSessionReused()));
    toParent({
      type: 'wfm-ready',
      url: service.url,
      port: (server.address() as AddressInfo).port,
      adminToken: service.adminToken,
      dataDir: service.config.dataDir,
      trustDomain: service.config.identity.trustDomain,
      wfmId: service.config.identity.wfmId,
      spiffeId: service.config.identity.spiffeId,
      sessionLifetimeSeconds: service.config.tls.sessionLifetimeSeconds,
    });
  }
} catch (error) {
  toParent({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
  stop(1);
}
