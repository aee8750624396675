import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { sha256Digest } from '../../../common/digest.js';
import { readTar } from '../../../client/tar.js';
import { buildBundle, buildTar } from './bundle.js';

const a = { name: 'a3e2f5dc-912e-494f-8395-52cf3769bc06.yaml', bytes: Buffer.from('id: a3e2f5dc\n') };
const b = { name: '0b6f1c9e-7d1a-4c55-9a0e-2f1d2c3b4a59.yaml', bytes: Buffer.alloc(1024, 'x') };
const c = { name: 'ffffffff-0000-4000-8000-000000000000.yaml', bytes: Buffer.alloc(0) };

/** The raw 512-byte header of the i-th entry of an uncompressed archive with known sizes. */
const field = (block: Buffer, offset: number, length: number) => block.subarray(offset, offset + length);

describe('buildBundle', () => {
  it('is byte-identical for identical input, whatever the input order', () => {
    const first = buildBundle([a, b, c]);
    const second = buildBundle([c, a, b]);
    expect(second.equals(first)).toBe(true);
    expect(sha256Digest(buildBundle([b, c, a]))).toBe(sha256Digest(first));
  });

  it('reads back with readTar: exactly the entries, sorted by name, with their bytes', () => {
    const entries = readTar(buildBundle([a, b, c]));
    expect(entries.map((e) => e.name)).toEqual([b.name, a.name, c.name]);
    expect(entries.map((e) => e.body.toString('hex'))).toEqual([b, a, c].map((e) => e.bytes.toString('hex')));
    for (const e of entries) {
      expect(e).toMatchObject({ mode: 0o644, mtime: 0, type: '0' });
    }
  });

  it('writes the ustar header fields as specified', () => {
    const tar = gunzipSync(buildBundle([a]));
    const h = tar.subarray(0, 512);
    expect(field(h, 0, 100).toString('utf8').replace(/\0+$/, '')).toBe(a.name);
    expect(field(h, 100, 8).toString('ascii')).toBe('0000644\0');
    expect(field(h, 108, 8).toString('ascii')).toBe('0000000\0');
    expect(field(h, 116, 8).toString('ascii')).toBe('0000000\0');
    expect(field(h, 124, 12).toString('ascii')).toBe('00000000015\0'); // 13 bytes
    expect(field(h, 136, 12).toString('ascii')).toBe('00000000000\0');
    expect(String.fromCharCode(h[156])).toBe('0');
    expect(field(h, 157, 100).every((x) => x === 0)).toBe(true); // linkname
    expect(field(h, 257, 8).toString('ascii')).toBe('ustar\x0000');
    expect(field(h, 265, 64).every((x) => x === 0)).toBe(true); // uname + gname
    expect(field(h, 345, 155).every((x) => x === 0)).toBe(true); // prefix
    const checksum = [...h].reduce((sum, x, i) => sum + (i >= 148 && i < 156 ? 0x20 : x), 0);
    expect(field(h, 148, 8).toString('ascii')).toBe(`${checksum.toString(8).padStart(6, '0')}\0 `);
  });

  it('pads bodies to 512 bytes and ends with exactly two zero blocks', () => {
    const tar = buildTar([a, b]);
    // a: header + 1 block; b: header + 2 blocks; end: 2 blocks.
    expect(tar.length).toBe(512 * (2 + 3 + 2));
    expect(tar.subarray(tar.length - 1024).every((x) => x === 0)).toBe(true);
    expect(gunzipSync(buildBundle([a, b])).equals(tar)).toBe(true);
  });

  it('writes a gzip header without file name or mtime, OS pinned to Unix', () => {
    const gz = buildBundle([a]);
    expect([...gz.subarray(0, 3)]).toEqual([0x1f, 0x8b, 8]);
    expect(gz[3]).toBe(0); // FLG: no FNAME, FEXTRA, FCOMMENT, FHCRC
    expect([...gz.subarray(4, 8)]).toEqual([0, 0, 0, 0]); // MTIME
    expect(gz[8]).toBe(0); // XFL: default level (6)
    expect(gz[9]).toBe(3); // OS: Unix
  });

  it('refuses an empty list, bad names and duplicates', () => {
    expect(() => buildBundle([])).toThrow('no entries');
    expect(() => buildBundle([{ name: 'dir/x.yaml', bytes: Buffer.alloc(1) }])).toThrow('invalid entry name');
    expect(() => buildBundle([{ name: '', bytes: Buffer.alloc(1) }])).toThrow('invalid entry name');
    expect(() => buildBundle([{ name: `${'x'.repeat(96)}.yaml`, bytes: Buffer.alloc(1) }])).toThrow(
      'invalid entry name',
    );
    expect(() => buildBundle([a, { ...a, bytes: Buffer.from('other') }])).toThrow('duplicate entry');
  });
});
