import { gunzipSync } from 'node:zlib';

export interface TarEntry {
  name: string;
  size: number;
  mode: number;
  mtime: number;
  type: string;
  body: Buffer;
}

function field(block: Buffer, offset: number, length: number): string {
  const raw = block.subarray(offset, offset + length);
  const end = raw.indexOf(0);
  return raw.subarray(0, end === -1 ? raw.length : end).toString('utf8');
}

function octal(block: Buffer, offset: number, length: number): number {
  const text = field(block, offset, length).trim();
  return text === '' ? 0 : parseInt(text, 8);
}

/** Reads a (gzip-compressed) ustar archive: enough for Margo bundles (D4), no dependency needed. */
export function readTar(archive: Buffer, gzipped = true): TarEntry[] {
  const data = gzipped ? gunzipSync(archive) : archive;
  const entries: TarEntry[] = [];
  let offset = 0;
  while (offset + 512 <= data.length) {
    const header = data.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break;
    const stored = octal(header, 148, 8);
    const computed = [...header].reduce((sum, b, i) => sum + (i >= 148 && i < 156 ? 0x20 : b), 0);
    if (stored !== computed) throw new Error(`tar: bad header checksum at offset ${offset}`);
    const prefix = field(header, 345, 155);
    const base = field(header, 0, 100);
    const size = octal(header, 124, 12);
    entries.push({
      name: prefix ? `${prefix}/${base}` : base,
      size,
      mode: octal(header, 100, 8),
      mtime: octal(header, 136, 12),
      type: String.fromCharCode(header[156] || 0x30),
      body: Buffer.from(data.subarray(offset + 512, offset + 512 + size)),
    });
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return entries;
}
