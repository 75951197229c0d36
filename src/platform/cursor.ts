import { fromBase64Url, toBase64Url } from "./crypto";

/** An opaque page cursor: its text (a tag like `ev1:` and a position) in base64url. */
export const encodeCursor = (text: string) => toBase64Url(new TextEncoder().encode(text));

/** `pattern` matched on a cursor's text, or null when it is not a cursor this API gave out. */
export function matchCursor(cursor: string, pattern: RegExp): RegExpExecArray | null {
  try {
    return pattern.exec(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(fromBase64Url(cursor)));
  } catch {
    return null;
  }
}
