/** Every operator list answers `{items, next}`; `after` fetches the page after `next`. */
export interface Page<T> {
  items: T[];
  next: string | null;
}

/**
 * All items of a list, page by page (`?limit=&after=`), stopping at `max` items when given.
 */
export async function listAll<T>(
  fetchPage: (after: string | undefined) => Promise<Page<T>>,
  max?: number,
): Promise<T[]> {
  const items: T[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await fetchPage(after);
    items.push(...page.items);
    if (max !== undefined && items.length >= max) return items.slice(0, max);
    if (page.next === null || page.items.length === 0) return items;
    after = page.next;
  }
}
