import type { VapiListFilter } from "../providers/vapi";

export const VAPI_PAGE_SIZE = 1000;
const MAX_PAGES = 50;

export interface VapiListing<T> {
  items: T[];
  /** False when the walk stopped early (too many pages): absence from `items` then proves nothing. */
  complete: boolean;
}

/**
 * Every item of a Vapi list. Vapi's `GET /phone-number` and `GET /assistant` have no page parameter: pages of
 * `limit` items come newest first, and the next page is the items created before the oldest one seen
 * (`createdAtLt`). Items sharing the boundary's exact millisecond could be skipped, so callers confirm an
 * absence with a GET before acting on it.
 */
export async function listAllFromVapi<T extends { id: string; createdAt: string }>(
  list: (filter: VapiListFilter) => Promise<T[]>,
  pageSize = VAPI_PAGE_SIZE,
): Promise<VapiListing<T>> {
  const byId = new Map<string, T>();
  let before: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const items = await list({ limit: pageSize, ...(before ? { createdAtLt: before } : {}) });
    for (const item of items) byId.set(item.id, item);
    if (items.length < pageSize) return { items: [...byId.values()], complete: true };
    const oldest = items.reduce((min, item) => (item.createdAt < min ? item.createdAt : min), items[0]!.createdAt);
    if (oldest === before) break;
    before = oldest;
  }
  return { items: [...byId.values()], complete: false };
}
