import { describe, expect, it } from 'vitest';
import { checkAuthority, parseAuthority } from './authority.js';

const hosts = [{ host: 'localhost' }, { host: '::1' }, { host: 'wfm.example', port: 8443 }];

describe('signature authority (WFM_PUBLIC_HOSTS)', () => {
  it('parses host[:port] and [v6][:port], lower-cased, without a trailing dot', () => {
    expect(parseAuthority('LocalHost.:8443')).toEqual({ host: 'localhost', port: 8443 });
    expect(parseAuthority('[::1]')).toEqual({ host: '::1' });
    expect(parseAuthority('[::1]:1')).toEqual({ host: '::1', port: 1 });
    for (const bad of ['', 'a:b', 'a:70000', 'a:0', '[x]:1', 'user@host', 'a/b', '::1', ' a']) {
      expect(parseAuthority(bad), bad).toBeUndefined();
    }
  });

  it('accepts only the configured names; a port-less entry matches any port', () => {
    expect(checkAuthority('localhost:1234', 'https', hosts).ok).toBe(true);
    expect(checkAuthority('[::1]:8443', 'https', hosts).ok).toBe(true);
    expect(checkAuthority('wfm.example:8443', 'https', hosts).ok).toBe(true);
    expect(checkAuthority('wfm.example', 'https', hosts).ok).toBe(false); // 443
    expect(checkAuthority('WFM.example:8443', 'https', [{ host: 'wfm.example', port: 443 }]).ok).toBe(false);
    expect(checkAuthority('wfm.example', 'https', [{ host: 'wfm.example', port: 443 }]).ok).toBe(true);
    const evil = checkAuthority('evil.example', 'https', hosts);
    expect(evil).toEqual({
      ok: false,
      reason: expect.stringContaining('localhost, [::1], wfm.example:8443'),
    });
    expect(checkAuthority('localhost.evil.example', 'https', hosts).ok).toBe(false);
    expect(checkAuthority('', 'https', hosts).ok).toBe(false);
  });
});
