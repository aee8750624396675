/** Every operator list answers `{items, next}`; `after` fetches the page after `next`. */
export interface Page<T> {
  items: T[];
  next: string | null;
}

/**
 * TEMPORARY ADAPTER (delete at merge once every operator list answers `{items, next}`): today
 * `/deployments` and `/applications` answer bare arrays and `/clients` `{items,total,limit,offset}`.
 */
export function toPage<T>(body: unknown): Page<T> {
  if (Array.isArray(body)) return { items: body as T[], next: null };
  const page = body as { items?: T[]; next?: string | null };
  return { items: page.items ?? [], next: page.next ?? null };
}

/**
 * All items of a list, page by page (`?limit=&after=`), stopping at `max` items when given.
 */
export async function listAll<T>(
  fetchPage: (after: string | undefined) => Promise<unknown>,
  max?: number,
): Promise<T[]> {
  const items: T[] = [];
  let after: string | undefined;
  for (;;) {
    const page = toPage<T>(await fetchPage(after));
    items.push(...page.items);
    if (max !== undefined && items.length >= max) return items.slice(0, max);
    if (page.next === null || page.items.length === 0) return items;
    after = page.next;
  }
}
