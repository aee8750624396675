// Used only by `prisma generate` (scripts/prisma-generate.mjs). The Prisma CLI's migrate commands
// need a native engine that cannot be downloaded here; migrations go through src/infra/database/.
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/wfm' },
});
