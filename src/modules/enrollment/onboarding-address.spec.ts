import { describe, expect, it } from 'vitest';
import { onboardingAddressKey } from './onboarding-address.js';

describe('onboardingAddressKey', () => {
  it('keys IPv4 by address, IPv4-mapped IPv6 as IPv4', () => {
    expect(onboardingAddressKey('192.0.2.7')).toBe('192.0.2.7');
    expect(onboardingAddressKey('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(onboardingAddressKey('::FFFF:192.0.2.7')).toBe('192.0.2.7');
  });

  it('keys IPv6 by its /64, whatever its spelling', () => {
    const key = '2001:db8:0:1::/64';
    expect(onboardingAddressKey('2001:db8:0:1::1')).toBe(key);
    expect(onboardingAddressKey('2001:0DB8:0000:0001:ffff:ffff:ffff:ffff')).toBe(key);
    expect(onboardingAddressKey('2001:db8:0:1:1:2:192.0.2.1')).toBe(key);
    expect(onboardingAddressKey('2001:db8:0:1::5%eth0')).toBe(key);
    expect(onboardingAddressKey('2001:db8:0:2::1')).not.toBe(key);
    expect(onboardingAddressKey('::1')).toBe('0:0:0:0::/64');
    expect(onboardingAddressKey('fe80::1')).toBe('fe80:0:0:0::/64');
  });

  it('keeps anything else as its own key', () => {
    expect(onboardingAddressKey(undefined)).toBe('unknown');
    expect(onboardingAddressKey('not-an-address')).toBe('not-an-address');
  });
});
