import { describe, expect, it } from 'vitest';
import { claimAt, looksLikeJwt, mapRole, parseScope } from './oidc-verifier.js';

describe('OIDC claim helpers', () => {
  const roleMap = [
    { value: 'wfm-admins', role: 'admin' as const },
    { value: 'wfm-ops', role: 'operator' as const },
    { value: '*', role: 'viewer' as const },
  ];

  it('tells JWT-shaped bearers from opaque and stream tokens', () => {
    expect(looksLikeJwt('eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln')).toBe(true);
    expect(looksLikeJwt('eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.')).toBe(true);
    expect(looksLikeJwt('wfm_admin_AbCdEf-123_xyz')).toBe(false);
    expect(looksLikeJwt('wfm_sse.eyJzdWIiOiJ4In0.c2ln')).toBe(false);
    expect(looksLikeJwt('eyJ.a.b.c')).toBe(false);
  });

  it('reads dotted claim paths', () => {
    expect(claimAt({ realm_access: { roles: ['a'] } }, 'realm_access.roles')).toEqual(['a']);
    expect(claimAt({ 'https://x/roles': ['b'] }, 'https://x/roles')).toEqual(['b']);
    expect(claimAt({ a: 'x' }, 'a.b')).toBeUndefined();
  });

  it('maps claim values to the highest role; * matches everyone', () => {
    expect(mapRole({ roleMap }, ['wfm-ops', 'wfm-admins'])).toBe('admin');
    expect(mapRole({ roleMap }, 'wfm-ops other')).toBe('operator');
    expect(mapRole({ roleMap }, undefined)).toBe('viewer');
    expect(mapRole({ roleMap: roleMap.slice(0, 2) }, ['nobody'])).toBeUndefined();
    expect(mapRole({ roleMap: roleMap.slice(0, 2) }, [{ nested: 'wfm-admins' }])).toBeUndefined();
  });

  it('parses label scopes from strings, lists and objects', () => {
    expect(parseScope('site=DE-001')).toEqual({ site: 'DE-001' });
    expect(parseScope('site=DE-001, line=3')).toEqual({ site: 'DE-001', line: '3' });
    expect(parseScope(['site=DE-001'])).toEqual({ site: 'DE-001' });
    expect(parseScope({ site: 'DE-001' })).toEqual({ site: 'DE-001' });
    expect(parseScope(undefined)).toBeUndefined();
    for (const bad of ['site', '=x', 42, [1], { site: 1 }, '']) {
      expect(() => parseScope(bad)).toThrow(/scope/);
    }
  });
});
