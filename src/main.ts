import 'reflect-metadata';
import { startService } from './bootstrap.js';
import { ConfigError, loadConfig } from './config/config.js';
import { ListenError } from './common/http/listening.js';
import { DependencyUnavailableError } from './infra/database/postgres-admin.js';

/** The one command that provides PostgreSQL and Redis (the README's Quick start says the same). */
const DEPENDENCY_HINT =
  'Start both with `docker compose -f docker-compose.deps.yml up -d` (from the checkout) or install ' +
  'them with `sudo apt-get install postgresql redis-server` (Debian/Ubuntu).';

if (process.argv.includes('--http')) process.env.WFM_HTTP_ONLY = 'true';

try {
  const service = await startService(loadConfig());
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`margo-wfm: ${signal} received, shutting down`);
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    service.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
} catch (error) {
  if (error instanceof DependencyUnavailableError) {
    console.error(`margo-wfm cannot start. ${error.message}. ${DEPENDENCY_HINT}`);
  } else if (error instanceof ConfigError || error instanceof ListenError) {
    console.error(`margo-wfm cannot start. ${error.message}`);
  } else {
    console.error('margo-wfm cannot start:', error);
  }
  process.exit(1);
}
