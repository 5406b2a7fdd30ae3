/** Small text helpers shared by the parsers and rewrites. */

/** `text` as a regular expression that matches exactly it (every metacharacter escaped). */
export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

/** A line quoted for an error message, cut to 120 characters. */
export function clip(line: string): string {
  return JSON.stringify(line.length > 120 ? line.slice(0, 120) + "…" : line);
}
