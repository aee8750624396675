import { Inject, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { TooManyRequestsError, UnauthenticatedError } from '../../../common/problem/domain-error.js';
import { APP_CONFIG, type AppConfig } from '../../../config/config.js';
import { UnknownClientError } from '../enrollment.errors.js';
import { RateLimiter } from './rate-limiter.js';
import { TrustedProxies } from './trusted-proxies.js';

/**
 * Failed authentication per source address (WFM_AUTH_FAILURES_PER_MINUTE, decisions.md "Failed
 * authentication"): every 401 (bad bearer token, bad or foreign signature, invalid SVID) and every
 * legacy request for an unknown client takes one token from the address's bucket; while the bucket
 * is empty, every authenticated route answers that address 429 before any credential is checked.
 * Successful requests cost nothing, so other addresses — and good ones behind a NAT with a broken
 * neighbour, up to the budget — are unaffected. In memory per API instance, like the request limit.
 */
@Injectable()
export class FailedAuthLimiter {
  private readonly limiter: RateLimiter;
  private readonly proxies: TrustedProxies;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    const perMinute = config.rateLimit.authFailuresPerMinute;
    this.limiter = new RateLimiter(perMinute, Math.max(1, perMinute));
    this.proxies = new TrustedProxies(config.tls.trustedProxies);
  }

  /**
   * Runs an authentication; refuses it (429) while the address is over its failure budget, and
   * counts its failure unless `count` is false.
   */
  async run<T>(req: Request, authenticate: () => Promise<T>, count = true): Promise<T> {
    const address = this.proxies.sourceAddress(req);
    const state = this.limiter.peek(address);
    if (!state.ok) {
      throw new TooManyRequestsError(
        `Too many failed authentication attempts from ${address}; try again in ${state.retryAfterSeconds} s`,
        state.retryAfterSeconds,
      );
    }
    try {
      return await authenticate();
    } catch (error) {
      if (count && (error instanceof UnauthenticatedError || error instanceof UnknownClientError)) {
        this.limiter.consume(address);
      }
      throw error;
    }
  }
}
