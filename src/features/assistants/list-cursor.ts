import { fromBase64Url, toBase64Url } from "../../platform/crypto";

/** Where a page of the assistant list ends: the last assistant's creation time and id (the list's order). */
export interface AssistantListPosition {
  createdAt: string;
  id: string;
}

const CURSOR_PREFIX = "as1:";
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;

export const encodeAssistantCursor = (position: AssistantListPosition) =>
  toBase64Url(new TextEncoder().encode(`${CURSOR_PREFIX}${position.createdAt}|${position.id}`));

/** The position inside a cursor, or null when the text is not a cursor this API gave out. */
export function decodeAssistantCursor(cursor: string): AssistantListPosition | null {
  try {
    const text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(fromBase64Url(cursor));
    if (!text.startsWith(CURSOR_PREFIX)) return null;
    const [createdAt, id, ...rest] = text.slice(CURSOR_PREFIX.length).split("|");
    if (rest.length > 0 || !createdAt || !ISO_TIME.test(createdAt) || !id || id.length > 128) return null;
    return { createdAt, id };
  } catch {
    return null;
  }
}
