import { isIP } from 'node:net';
import type { PublicHost } from '../../../config/config.js';

/**
 * The RFC 9421 `@authority` / `@target-uri` authority a signed legacy request addressed, checked
 * against the WFM's own names (WFM_PUBLIC_HOSTS). Without it, the Host header chooses the authority a
 * signature is verified against, so a signature made for another service would be accepted here.
 * Pure: no I/O.
 */
export type AuthorityCheck = { ok: true } | { ok: false; reason: string };

/** Splits `host[:port]` / `[v6][:port]`; undefined when it is not an authority. Host lower-cased, no trailing dot. */
export function parseAuthority(authority: string): PublicHost | undefined {
  const bracketed = /^\[([0-9A-Fa-f:.]+)\](?::(\d{1,5}))?$/.exec(authority);
  const plain = bracketed ? undefined : /^([^:[\]\s/@]+)(?::(\d{1,5}))?$/.exec(authority);
  const match = bracketed ?? plain;
  if (!match) return undefined;
  const host = match[1].toLowerCase().replace(/\.$/, '');
  if (bracketed && isIP(host) !== 6) return undefined;
  if (host === '') return undefined;
  const port = match[2] === undefined ? undefined : Number(match[2]);
  if (port !== undefined && (port < 1 || port > 65_535)) return undefined;
  return port === undefined ? { host } : { host, port };
}

/** Formats a public host back as an authority (`[v6]` bracketed). */
export function formatAuthority(entry: PublicHost): string {
  const host = isIP(entry.host) === 6 ? `[${entry.host}]` : entry.host;
  return entry.port === undefined ? host : `${host}:${entry.port}`;
}

/**
 * Whether `authority` (from Host or a trusted proxy's X-Forwarded-Host) names this WFM. An entry
 * without a port matches any port; one with a port only that port (the scheme's default port when
 * the authority has none).
 */
export function checkAuthority(
  authority: string,
  scheme: 'http' | 'https',
  publicHosts: readonly PublicHost[],
): AuthorityCheck {
  const expected = publicHosts.map(formatAuthority).join(', ');
  const parsed = parseAuthority(authority);
  if (!parsed) {
    return {
      ok: false,
      reason: `The request authority ${JSON.stringify(authority)} is not a host[:port]; signatures must be made for this WFM (${expected})`,
    };
  }
  const port = parsed.port ?? (scheme === 'https' ? 443 : 80);
  const known = publicHosts.some(
    (entry) => entry.host === parsed.host && (entry.port === undefined || entry.port === port),
  );
  if (known) return { ok: true };
  return {
    ok: false,
    reason: `The signature's authority ${JSON.stringify(authority)} is not this WFM; expected one of: ${expected} (WFM_PUBLIC_HOSTS)`,
  };
}
