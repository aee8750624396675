import type { NextFunction, Request, Response } from 'express';
import { InvalidRequestError } from '../problem/domain-error.js';
import { badTargetPart } from './input-limits.js';

/**
 * The input limits for the request target (docs/decisions.md, "Input limits"): every path segment and
 * every query name and value must be valid percent-encoded UTF-8 and must not decode to NUL. Checked
 * once, before any route, so no handler, guard or fallback decodes a malformed target → 400
 * `#invalid-request` naming the part.
 */
export function requestTargetMiddleware(req: Request, _res: Response, next: NextFunction): void {
  const url = req.originalUrl;
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  for (const segment of path.split('/')) {
    if (!segment.includes('%')) continue;
    const reason = badTargetPart(segment);
    if (reason) {
      next(new InvalidRequestError(`The request path segment "${segment.slice(0, 80)}" ${reason}`));
      return;
    }
  }
  if (q !== -1) {
    for (const part of url.slice(q + 1).split('&')) {
      if (!part.includes('%')) continue;
      const eq = part.indexOf('=');
      const name = eq === -1 ? part : part.slice(0, eq);
      for (const piece of eq === -1 ? [name] : [name, part.slice(eq + 1)]) {
        const reason = badTargetPart(piece.replace(/\+/g, ' '));
        if (reason) {
          next(new InvalidRequestError(`The query parameter "${name.slice(0, 80)}" ${reason}`));
          return;
        }
      }
    }
  }
  next();
}
