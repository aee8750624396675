import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { NotFoundError, ServiceUnavailableError } from '../problem/domain-error.js';

/**
 * The operator console (issue 19, docs/decisions.md "Operator console"): the single-page app that
 * `npm run build` puts in dist/console, served at /console on the service's own port. Hashed assets
 * are cached for a year (their names change with their content); index.html is never cached, and
 * every other path under /console answers it, so the app's own routes survive a reload.
 */
export const CONSOLE_PATH = '/console';

/**
 * The console's Content-Security-Policy: scripts only from the service itself (Vite emits no inline
 * script), no frames, no plugins, requests only to the same origin. Styles allow 'unsafe-inline':
 * Mantine sets CSS variables in a <style> element and style attributes on components.
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Where the built console is: dist/console, seen from the compiled service, src/ (tests) or dist-bench/src/. */
export function consoleDirectory(): string | undefined {
  const candidates = [
    fileURLToPath(new URL('../../../dist/console', import.meta.url)), // running from src/ (tests)
    fileURLToPath(new URL('../../../console', import.meta.url)), // running from dist/src/
    fileURLToPath(new URL('../../../../dist/console', import.meta.url)), // from dist-bench/src/ (benches)
  ];
  // the source folder console/ has an index.html too: the build's manifest tells them apart
  return candidates.find(
    (dir) => existsSync(`${dir}/.vite/manifest.json`) && existsSync(`${dir}/index.html`),
  );
}

function securityHeaders(res: Response): void {
  res.setHeader('Content-Security-Policy', CONSOLE_CSP);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
}

/** The /console router: assets, then index.html for the app's routes (GET and HEAD only). */
export function consoleRouter(dir = consoleDirectory()): Router {
  const router = express.Router();
  const index = dir ? readFileSync(`${dir}/index.html`) : undefined;
  router.use('/assets', (req: Request, res: Response, next: NextFunction) => {
    if (!dir) return next();
    securityHeaders(res);
    return express.static(`${dir}/assets`, {
      index: false,
      immutable: true,
      maxAge: '365d',
      fallthrough: false,
      redirect: false,
    })(req, res, (error?: unknown) =>
      next(
        error && (error as { status?: number }).status !== 404
          ? error
          : new NotFoundError(`No console asset ${req.originalUrl}`),
      ),
    );
  });
  router.use((req: Request, res: Response, next: NextFunction) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    if (!index) {
      return next(
        new ServiceUnavailableError(
          'The operator console is not built: run `npm run build` (it writes dist/console)',
        ),
      );
    }
    securityHeaders(res);
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.setHeader('Cache-Control', 'no-cache');
    res.status(200).end(req.method === 'HEAD' ? undefined : index);
  });
  return router;
}
