import { describe, expect, it } from 'vitest';
import { formatBytes, parseQuantity } from './quantity.js';

describe('parseQuantity', () => {
  it.each([
    ['8Gi', 8n * 1024n ** 3n],
    ['59 Gi', 59n * 1024n ** 3n],
    ['512Mi', 512n * 1024n ** 2n],
    ['1862Gi', 1862n * 1024n ** 3n],
    ['1.5Ti', (3n * 1024n ** 4n) / 2n],
    ['100', 100n],
    ['2G', 2_000_000_000n],
    [' 4 GiB ', 4n * 1024n ** 3n],
  ])('%s → %s bytes', (text, bytes) => {
    expect(parseQuantity(text)).toBe(bytes);
  });

  it.each(['', 'lots', '8 Gb Gi', '-1Gi', '1e9', 'Gi'])('refuses %j', (text) => {
    expect(parseQuantity(text)).toBeUndefined();
  });

  it('formats bytes for people', () => {
    expect(formatBytes(16n * 1024n ** 3n)).toBe('16Gi');
    expect(formatBytes(1536 * 1024 ** 2)).toBe('1.5Gi');
  });
});
