// `npm run db:migrate`: creates the database if needed and applies pending migrations.
import { ConfigError, loadConfig, redactUrl } from '../config/config.js';
import { migrate } from '../infra/database/migrator.js';
import { ensureDatabase } from '../infra/database/postgres-admin.js';

try {
  const config = loadConfig();
  if (await ensureDatabase(config.database.url)) {
    console.log(`created database ${redactUrl(config.database.url)}`);
  }
  const applied = await migrate(config.database.url);
  console.log(applied.length > 0 ? `applied: ${applied.join(', ')}` : 'database is up to date');
} catch (error) {
  console.error(error instanceof ConfigError || error instanceof Error ? error.message : String(error));
  process.exit(1);
}
