import { encodeCursor, matchCursor } from "../../platform/cursor";

/** Where a page of the assistant list ends: the last assistant's creation time and id (the list's order). */
export interface AssistantListPosition {
  createdAt: string;
  id: string;
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;

export const encodeAssistantCursor = (position: AssistantListPosition) => encodeCursor(`as1:${position.createdAt}|${position.id}`);

/** The position inside a cursor, or null when the text is not a cursor this API gave out. */
export function decodeAssistantCursor(cursor: string): AssistantListPosition | null {
  const text = matchCursor(cursor, /^as1:(.*)$/s)?.[1];
  if (text === undefined) return null;
  const [createdAt, id, ...rest] = text.split("|");
  if (rest.length > 0 || !createdAt || !ISO_TIME.test(createdAt) || !id || id.length > 128) return null;
  return { createdAt, id };
}
