import type { FuzzRequest } from './requests.js';
import { Deep, RawNumber } from './values.js';

/** What a generated request contains, for naming the class of a failure it provoked. Pure. */
export interface RequestFeatures {
  /** A NUL or a lone UTF-16 surrogate in any string (body, path or query). */
  nulOrLoneSurrogate: boolean;
  /** A number beyond the signed 64-bit integer range. */
  beyondInt8: boolean;
  /** The longest string (body value or decoded path parameter). */
  longestString: number;
  /** The deepest nesting of the body. */
  depth: number;
  /** A path or query that does not percent-decode. */
  malformedPercent: boolean;
}

const INT8_MAX = 9223372036854775807n;

function badString(s: string): boolean {
  return (
    s.includes('\u0000') || /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s)
  );
}

function beyond(n: number | RawNumber): boolean {
  const text = n instanceof RawNumber ? n.text : String(n);
  if (!Number.isFinite(Number(text))) return true;
  if (/^-?\d+$/.test(text)) {
    const b = BigInt(text);
    return b > INT8_MAX || b < -INT8_MAX - 1n;
  }
  return Math.abs(Number(text)) > Number(INT8_MAX);
}

function decodes(s: string): boolean {
  try {
    decodeURIComponent(s);
    return true;
  } catch {
    return false;
  }
}

export function featuresOf(req: FuzzRequest): RequestFeatures {
  const f: RequestFeatures = {
    nulOrLoneSurrogate: false,
    beyondInt8: false,
    longestString: 0,
    depth: 0,
    malformedPercent: !decodes(req.path) || !decodes(req.query.replace(/\+/g, ' ')),
  };
  const visit = (v: unknown, depth: number): void => {
    f.depth = Math.max(f.depth, depth);
    if (v instanceof Deep) {
      f.depth = Math.max(f.depth, depth + v.depth);
    } else if (v instanceof RawNumber || typeof v === 'number') {
      f.beyondInt8 ||= beyond(v);
    } else if (typeof v === 'string') {
      f.nulOrLoneSurrogate ||= badString(v);
      f.longestString = Math.max(f.longestString, v.length);
    } else if (Array.isArray(v)) {
      for (const x of v) visit(x, depth + 1);
    } else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        visit(k, depth + 1);
        visit(x, depth + 1);
      }
    }
  };
  visit(req.bodyValue, 0);
  if (typeof req.body === 'string' || Buffer.isBuffer(req.body)) {
    const text = req.body.toString();
    f.nulOrLoneSurrogate ||= /\\u0000|\\ud[89a-f][0-9a-f]{2}/i.test(text) || text.includes('\u0000');
  }
  for (const raw of Object.values(req.params)) {
    const value = decodes(raw) && raw.includes('%') ? decodeURIComponent(raw) : raw;
    visit(value, 0);
  }
  if (decodes(req.query)) visit(decodeURIComponent(req.query), 0);
  return f;
}
