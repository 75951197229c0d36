import type { VapiListFilter } from "./vapi";

const VAPI_PAGE_SIZE = 1000;
const MAX_PAGES = 50;

interface VapiListing<T> {
  items: T[];
  /**
   * False when the walk could not prove it saw every item (too many pages, or a whole page created in one
   * millisecond): absence from `items` then proves nothing.
   */
  complete: boolean;
}

/**
 * Every item of a Vapi list. Vapi's `GET /phone-number` and `GET /assistant` have no page parameter: pages of
 * `limit` items come newest first, and the next page is the items created at or before the oldest one seen
 * (`createdAtLe`, deduplicated by id). An exclusive bound (`createdAtLt`) would skip the items that share the
 * boundary's millisecond but did not fit on the page. A failed page throws: nothing is concluded from part of a list.
 */
export async function listAllFromVapi<T extends { id: string; createdAt: string }>(
  list: (filter: VapiListFilter) => Promise<T[]>,
  pageSize = VAPI_PAGE_SIZE,
): Promise<VapiListing<T>> {
  const byId = new Map<string, T>();
  let through: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const items = await list({ limit: pageSize, ...(through ? { createdAtLe: through } : {}) });
    for (const item of items) byId.set(item.id, item);
    if (items.length < pageSize) return { items: [...byId.values()], complete: true };
    const oldest = items.reduce((min, item) => (Date.parse(item.createdAt) < Date.parse(min) ? item.createdAt : min), items[0]!.createdAt);
    // A full page of one millisecond: more may share it, and no bound can reach them.
    if (through !== undefined && Date.parse(oldest) === Date.parse(through)) break;
    through = oldest;
  }
  return { items: [...byId.values()], complete: false };
}
