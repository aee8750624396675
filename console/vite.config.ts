import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The operator console (issue 19): built by `npm run build` (scripts/build-console.mjs) into
// dist/console and served by the service at /console (src/common/http/console-static.ts).
export default defineConfig({
  root: import.meta.dirname,
  base: '/console/',
  plugins: [react()],
  build: {
    outDir: '../dist/console',
    emptyOutDir: true,
    // dist/console/.vite/manifest.json: the build script sums the initial route's chunks from it
    manifest: true,
    assetsDir: 'assets',
    // no inline scripts or data: URLs, so the strict Content-Security-Policy holds
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    reportCompressedSize: false,
    chunkSizeWarningLimit: 1000,
    rolldownOptions: {
      output: {
        // The libraries and the console's shared components in two chunks, each page's own code in
        // one chunk per page: a page costs one request after the first load, not a dozen (HTTP/1.1
        // opens at most 6 connections). Both groups are part of the initial route and its budget.
        codeSplitting: {
          groups: [
            { name: 'vendor', test: /node_modules/ },
            { name: 'shared', test: /console\/src\/(components|api|events|live|paths|session|theme)/ },
          ],
        },
      },
    },
  },
  server: {
    // `npx vite console` against a running service: WFM_URL=https://127.0.0.1:8443
    proxy: process.env.WFM_URL
      ? { '/operator': { target: process.env.WFM_URL, secure: false, changeOrigin: true } }
      : undefined,
  },
});
