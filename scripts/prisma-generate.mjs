// Runs `prisma generate` without the native schema engine (docs/decisions.md, "Prisma without its
// native engine"): generation does not need it, only the CLI's start-up check does.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';

const out = 'src/generated/prisma/client.ts';
const schema = 'prisma/schema.prisma';
if (existsSync(out) && statSync(out).mtimeMs >= statSync(schema).mtimeMs) process.exit(0);

const result = spawnSync(process.execPath, ['node_modules/prisma/build/index.js', 'generate'], {
  stdio: ['ignore', 'inherit', 'inherit'],
  env: {
    ...process.env,
    PRISMA_SCHEMA_ENGINE_BINARY: process.execPath,
    PRISMA_HIDE_UPDATE_MESSAGE: '1',
    CHECKPOINT_DISABLE: '1',
  },
});
process.exit(result.status ?? 1);
