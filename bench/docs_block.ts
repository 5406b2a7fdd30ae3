/** A generated block of a docs page: the text between two marker lines, markers included. */

/** The block of `doc` from `begin` to `end`, markers included, or undefined when either is missing. */
export function docsBlock(doc: string, begin: string, end: string): string | undefined {
  const start = doc.indexOf(begin);
  const stop = doc.indexOf(end, start);
  if (start < 0 || stop < 0) return undefined;
  return doc.slice(start, stop + end.length) + "\n";
}

/** `doc` with its block from `begin` to `end` replaced by `block`; throws naming `what` when missing. */
export function replaceDocsBlock(
  doc: string,
  block: string,
  markers: { begin: string; end: string; what: string },
): string {
  const old = docsBlock(doc, markers.begin, markers.end);
  if (old === undefined) {
    throw new Error(
      `Cannot find the ${markers.what} (${markers.begin} ... ${markers.end}) to replace`,
    );
  }
  return doc.replace(old, () => block);
}
