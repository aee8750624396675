import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

// One migrated template database per Vitest run, so concurrent runs on one machine do not collide.
process.env.WFM_TEST_TEMPLATE_DB ??= `wfm_test_tpl_${process.pid}`;

export default defineConfig({
  plugins: [swc.vite({ module: { type: 'es6' } })],
  test: {
    include: ['src/**/*.spec.ts', 'test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: true,
    maxWorkers: 2,
    pool: 'forks',
  },
});
