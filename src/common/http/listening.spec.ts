import { describe, expect, it } from 'vitest';
import { listeningLines } from './listening.js';

const config = {
  identity: { spiffeId: 'spiffe://wfm.local/margo/wfm/wfm-1', trustDomain: 'wfm.local', wfmId: 'wfm-1' },
};
const interfaces = {
  lo: [{ address: '127.0.0.1', family: 'IPv4' }],
  eth0: [
    { address: '192.168.1.20', family: 'IPv4' },
    { address: 'fe80::1', family: 'IPv6' },
  ],
} as never;

describe('listeningLines', () => {
  it('names every interface address for a wildcard bind, and the docs URL', () => {
    const lines = listeningLines(
      {
        scheme: 'https',
        host: '0.0.0.0',
        port: 8443,
        url: 'https://127.0.0.1:8443',
        roles: 'api,worker',
        config,
      },
      interfaces,
    );
    expect(lines[0]).toMatch(/^margo-wfm listening on https:\/\/127\.0\.0\.1:8443 /);
    expect(lines[1]).toBe(
      '  bound to all interfaces (0.0.0.0), e.g. https://127.0.0.1:8443, https://192.168.1.20:8443',
    );
    expect(lines).toContain('  API docs: https://127.0.0.1:8443/docs');
  });

  it('names only the bound address otherwise', () => {
    const lines = listeningLines(
      { scheme: 'https', host: '10.0.0.7', port: 9443, url: 'https://10.0.0.7:9443', roles: 'api', config },
      interfaces,
    );
    expect(lines.join('\n')).not.toContain('all interfaces');
    expect(lines).toContain('  API docs: https://10.0.0.7:9443/docs');
  });
});
