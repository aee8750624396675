/**
 * D9: If-None-Match with strong comparison, comma lists and `*`; weak tags (W/"…") never match.
 * D10: Accept — missing, any `*\/*`, `application/*` or the Margo type with q>0 is acceptable.
 */
export function ifNoneMatchMatches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  for (const raw of header.split(',')) {
    const tag = raw.trim();
    if (tag === '*') return true;
    if (tag.startsWith('W/')) continue;
    if (tag === etag) return true;
  }
  return false;
}

export function acceptsMediaType(header: string | undefined, mediaType: string): boolean {
  if (header === undefined || header.trim() === '') return true;
  const [type] = mediaType.split('/');
  for (const part of header.split(',')) {
    const [range, ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    const q = params.find((p) => p.startsWith('q='));
    if (q !== undefined && !(Number(q.slice(2)) > 0)) continue;
    if (range === '*/*' || range === `${type}/*` || range === mediaType) return true;
  }
  return false;
}
