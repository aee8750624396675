import { BlockList, isIPv4 } from 'node:net';
import type { Request } from 'express';

/** The TLS-offloading proxies of WFM_TRUSTED_PROXIES (addresses or CIDRs), whose headers are believed. */
export class TrustedProxies {
  private readonly list = new BlockList();
  private readonly empty: boolean;

  constructor(cidrs: readonly string[]) {
    for (const cidr of cidrs) {
      const [address, bits] = cidr.split('/') as [string, string | undefined];
      const type = isIPv4(address) ? 'ipv4' : 'ipv6';
      if (bits === undefined) this.list.addAddress(address, type);
      else this.list.addSubnet(address, Number(bits), type);
    }
    this.empty = cidrs.length === 0;
  }

  /** Whether the request's TCP peer is a trusted proxy. */
  isProxy(req: Request): boolean {
    if (this.empty) return false;
    const address = peerAddress(req);
    if (!address) return false;
    return this.list.check(address, isIPv4(address) ? 'ipv4' : 'ipv6');
  }

  /**
   * The address the request came from: the TCP peer, or — when that is a trusted proxy — the last
   * X-Forwarded-For entry (the one the proxy itself appended; earlier ones are the caller's to choose).
   */
  sourceAddress(req: Request): string {
    const peer = peerAddress(req) ?? 'unknown';
    if (!this.isProxy(req)) return peer;
    const header = req.headers['x-forwarded-for'];
    const joined = Array.isArray(header) ? header.join(',') : header;
    const last = joined?.split(',').pop()?.trim();
    return last ? last.replace(/^::ffff:/, '') : peer;
  }
}

function peerAddress(req: Request): string | undefined {
  return req.socket.remoteAddress?.replace(/^::ffff:/, '');
}
