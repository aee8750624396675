import { gzipSync } from 'node:zlib';

/**
 * Deterministic bundle archive (decision D4; media type application/vnd.margo.bundle.v1+tar+gzip):
 * a POSIX ustar archive of root entries sorted by name (UTF-8 byte order), each with mtime 0, uid/gid 0,
 * mode 0644, empty uname/gname, typeflag '0', followed by two zero blocks (no padding to a 10 KiB record),
 * gzip-compressed by node:zlib (level 6, window bits 13, memory level 6) with no file name and mtime 0. The gzip OS byte is pinned to 3
 * (Unix) because zlib writes the build platform there. Pure; the same entries give the same bytes.
 *
 * Caveat: the deflate stream itself comes from the zlib bundled with Node, so a different Node/zlib build
 * may compress differently; bytes are produced once and stored (Exact Bytes Rule), never recomputed to be
 * compared.
 */

export interface BundleEntry {
  /** `<deploymentId>.yaml` (a root entry: no `/`). */
  name: string;
  bytes: Buffer;
}

const BLOCK = 512;
/**
 * zlib's default level with an 8 KiB window and smaller hash tables: bundles are a few KiB, and
 * setting up zlib's default 32 KiB window and tables took most of the time per bundle (level 9 with the
 * default window: about 2.3× the CPU, for the same size).
 */
const GZIP_OPTIONS = { level: 6, windowBits: 13, memLevel: 6 } as const;
const GZIP_OS_OFFSET = 9;
const GZIP_OS_UNIX = 3;
/** Largest size the 11 octal digits of a ustar size field hold. */
const MAX_SIZE = 0o77777777777;

/** Writes `value` as zero-padded octal in `width - 1` digits followed by NUL. */
function writeOctal(header: Buffer, offset: number, width: number, value: number): void {
  header.write(`${value.toString(8).padStart(width - 1, '0')}\0`, offset, width, 'ascii');
}

/** Refuses names a root ustar entry cannot carry safely. */
function checkName(name: string): Buffer {
  const bytes = Buffer.from(name, 'utf8');
  if (name === '' || name === '.' || name === '..' || /[/\\\0]/.test(name) || bytes.length > 100) {
    throw new Error(
      `bundle: invalid entry name ${JSON.stringify(name)} (root entry, 1..100 bytes, no / \\ NUL)`,
    );
  }
  return bytes;
}

/** The 512-byte ustar header of one regular file. */
function header(name: Buffer, size: number): Buffer {
  const h = Buffer.alloc(BLOCK, 0);
  name.copy(h, 0);
  writeOctal(h, 100, 8, 0o644); // mode
  writeOctal(h, 108, 8, 0); // uid
  writeOctal(h, 116, 8, 0); // gid
  writeOctal(h, 124, 12, size);
  writeOctal(h, 136, 12, 0); // mtime
  h.fill(0x20, 148, 156); // checksum counted as spaces
  h.write('0', 156, 'ascii'); // typeflag: regular file
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  // uname, gname, devmajor, devminor, prefix stay NUL.
  const sum = h.reduce((acc, b) => acc + b, 0);
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return h;
}

/** The uncompressed ustar archive of the entries, sorted by name. */
export function buildTar(entries: BundleEntry[]): Buffer {
  const named = entries.map((e) => ({ name: checkName(e.name), bytes: e.bytes }));
  named.sort((a, b) => Buffer.compare(a.name, b.name));
  const parts: Buffer[] = [];
  named.forEach((e, i) => {
    if (i > 0 && named[i - 1].name.equals(e.name)) {
      throw new Error(`bundle: duplicate entry ${e.name.toString('utf8')}`);
    }
    if (e.bytes.length > MAX_SIZE) throw new Error(`bundle: entry ${e.name.toString('utf8')} is too large`);
    parts.push(header(e.name, e.bytes.length), e.bytes);
    const pad = (BLOCK - (e.bytes.length % BLOCK)) % BLOCK;
    if (pad > 0) parts.push(Buffer.alloc(pad, 0));
  });
  parts.push(Buffer.alloc(2 * BLOCK, 0));
  return Buffer.concat(parts);
}

/** The gzip-compressed bundle; throws on an empty list (an empty archive MUST NOT be served). */
export function buildBundle(entries: BundleEntry[]): Buffer {
  if (entries.length === 0) {
    throw new Error('bundle: no entries (a manifest without deployments has bundle null)');
  }
  const gz = gzipSync(buildTar(entries), GZIP_OPTIONS);
  gz[GZIP_OS_OFFSET] = GZIP_OS_UNIX;
  return gz;
}
