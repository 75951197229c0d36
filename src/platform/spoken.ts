/** Text the assistant says aloud. */

/** "A", "A or B", "A, B or C": a spoken choice, one final "or". */
export function spokenChoice(items: readonly string[]): string {
  if (items.length <= 1) return items[0] ?? "";
  return `${items.slice(0, -1).join(", ")} or ${items[items.length - 1]}`;
}

/** "30 minutes", "1 hour", "2 hours", "1 day". */
export function spokenDuration(minutes: number): string {
  if (minutes % 1440 === 0) return minutes === 1440 ? "1 day" : `${minutes / 1440} days`;
  if (minutes % 60 === 0) return minutes === 60 ? "1 hour" : `${minutes / 60} hours`;
  return `${minutes} minutes`;
}

/** One line: Vapi wants single-line results. */
export const singleLine = (text: string) => text.replace(/\s+/g, " ").trim();
