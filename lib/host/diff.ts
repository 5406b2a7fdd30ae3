/** A small unified diff of two texts, for the dry-run plan. */

/** Unified diff (3 lines of context) of `before` → `after`, or "" when they are equal. */
export function unifiedDiff(
  before: string,
  after: string,
  labels: { from: string; to: string },
): string {
  if (before === after) return "";
  const a = splitLines(before);
  const b = splitLines(after);
  const ops = diffLines(a, b);
  const out = [`--- ${labels.from}`, `+++ ${labels.to}`];
  const context = 3;
  // Group changes into hunks with `context` lines around them.
  let i = 0;
  while (i < ops.length) {
    while (i < ops.length && ops[i].kind === " ") i++;
    if (i >= ops.length) break;
    let start = Math.max(0, i - context);
    let end = i;
    let lastChange = i;
    while (end < ops.length) {
      if (ops[end].kind !== " ") lastChange = end;
      else if (end - lastChange > 2 * context) break;
      end++;
    }
    end = Math.min(ops.length, lastChange + context + 1);
    const hunk = ops.slice(start, end);
    const aStart = ops[start].aIndex;
    const bStart = ops[start].bIndex;
    const aLen = hunk.filter((op) => op.kind !== "+").length;
    const bLen = hunk.filter((op) => op.kind !== "-").length;
    out.push(`@@ -${range(aStart, aLen)} +${range(bStart, bLen)} @@`);
    for (const op of hunk) out.push(op.kind + op.line);
    i = end;
    start = end;
  }
  return out.join("\n") + "\n";
}

function range(start: number, length: number): string {
  const first = length === 0 ? start : start + 1;
  return length === 1 ? `${first}` : `${first},${length}`;
}

function splitLines(text: string): string[] {
  if (text === "") return [];
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  else lines[lines.length - 1] += "\n\\ No newline at end of file";
  return lines;
}

interface Op {
  kind: " " | "-" | "+";
  line: string;
  aIndex: number;
  bIndex: number;
}

/** Line diff: common prefix and suffix, then an LCS table for a small middle. */
function diffLines(a: string[], b: string[]): Op[] {
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (
    tail < a.length - head && tail < b.length - head &&
    a[a.length - 1 - tail] === b[b.length - 1 - tail]
  ) tail++;
  const ops: Op[] = [];
  for (let k = 0; k < head; k++) ops.push({ kind: " ", line: a[k], aIndex: k, bIndex: k });
  const am = a.slice(head, a.length - tail);
  const bm = b.slice(head, b.length - tail);
  if (am.length * bm.length <= 4_000_000) {
    const n = am.length, m = bm.length;
    const lcs = new Uint32Array((n + 1) * (m + 1));
    for (let x = n - 1; x >= 0; x--) {
      for (let y = m - 1; y >= 0; y--) {
        lcs[x * (m + 1) + y] = am[x] === bm[y]
          ? lcs[(x + 1) * (m + 1) + y + 1] + 1
          : Math.max(lcs[(x + 1) * (m + 1) + y], lcs[x * (m + 1) + y + 1]);
      }
    }
    let x = 0, y = 0;
    while (x < n || y < m) {
      if (x < n && y < m && am[x] === bm[y]) {
        ops.push({ kind: " ", line: am[x], aIndex: head + x, bIndex: head + y });
        x++, y++;
      } else if (x < n && (y === m || lcs[(x + 1) * (m + 1) + y] >= lcs[x * (m + 1) + y + 1])) {
        ops.push({ kind: "-", line: am[x], aIndex: head + x, bIndex: head + y });
        x++;
      } else {
        ops.push({ kind: "+", line: bm[y], aIndex: head + x, bIndex: head + y });
        y++;
      }
    }
  } else {
    // Too large to align line by line: show the middle as replaced.
    am.forEach((line, k) => ops.push({ kind: "-", line, aIndex: head + k, bIndex: head }));
    bm.forEach((line, k) =>
      ops.push({ kind: "+", line, aIndex: head + am.length, bIndex: head + k })
    );
  }
  for (let k = tail; k > 0; k--) {
    const ai = a.length - k, bi = b.length - k;
    ops.push({ kind: " ", line: a[ai], aIndex: ai, bIndex: bi });
  }
  return ops;
}
