import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import type { AppConfig } from '../../config/config.js';

/**
 * The pages an operator opens in a browser, announced after the listening line. Add the console
 * (`{ label: 'console', path: '/console' }`) here once it is served.
 */
export const OPERATOR_PAGES: readonly { label: string; path: string }[] = [
  { label: 'API docs', path: '/docs' },
];

export interface ListeningInfo {
  scheme: 'http' | 'https';
  /** The configured bind address (WFM_HOST). */
  host: string;
  port: number;
  /** The base URL the process reports to local callers (e.g. https://127.0.0.1:8443). */
  url: string;
  roles: string;
  config: Pick<AppConfig, 'identity'>;
}

function hostForUrl(address: string): string {
  return address.includes(':') ? `[${address}]` : address;
}

/**
 * The addresses a wildcard bind is reachable on: every interface address of the family (IPv6 link-local
 * addresses need a zone and are left out). A specific bind address is reachable on itself only.
 */
export function reachableAddresses(
  host: string,
  interfaces: NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces(),
): string[] {
  if (host !== '0.0.0.0' && host !== '::') return [host];
  const all = Object.values(interfaces).flatMap((list) => list ?? []);
  const wanted = all.filter(
    (i) => i.family === 'IPv4' || (host === '::' && i.family === 'IPv6' && !i.address.startsWith('fe80')),
  );
  return [...new Set(wanted.map((i) => i.address))];
}

/**
 * The start-up lines: where the service listens (every address, honestly, for a wildcard bind) and
 * the operator pages. The first line keeps the form `listening on <url>`, which scripts wait for.
 */
export function listeningLines(
  info: ListeningInfo,
  interfaces?: NodeJS.Dict<NetworkInterfaceInfo[]>,
): string[] {
  const lines = [
    `margo-wfm listening on ${info.url} (roles: ${info.roles}; SPIFFE ID ${info.config.identity.spiffeId})`,
  ];
  const urls = reachableAddresses(info.host, interfaces).map(
    (a) => `${info.scheme}://${hostForUrl(a)}:${info.port}`,
  );
  if (info.host === '0.0.0.0' || info.host === '::') {
    lines.push(
      `  bound to all interfaces (${info.host}), e.g. ${urls.join(', ') || `${info.scheme}://<hostname>:${info.port}`}`,
    );
  }
  for (const page of OPERATOR_PAGES) lines.push(`  ${page.label}: ${info.url}${page.path}`);
  return lines;
}

/** A listen failure as one readable sentence: the address and what to do about it. */
export class ListenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ListenError';
  }
}

export function listenError(error: NodeJS.ErrnoException, host: string, port: number): Error {
  const where = `${hostForUrl(host)}:${port}`;
  if (error.code === 'EADDRINUSE') {
    return new ListenError(
      `Port ${port} is already in use on ${where}: stop the other process or choose another port (PORT=…).`,
    );
  }
  if (error.code === 'EACCES') {
    return new ListenError(`Not allowed to listen on ${where}: choose a port above 1023 (PORT=…).`);
  }
  if (error.code === 'EADDRNOTAVAIL') {
    return new ListenError(`Cannot listen on ${where}: no interface has that address (WFM_HOST=…).`);
  }
  return new ListenError(`Cannot listen on ${where}: ${error.message}`);
}
