/** Seeded generators of test input: a failure names a seed that reproduces it. */

/** mulberry32: a small seeded generator of numbers in [0, 1). */
export function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEEDS = [
  "172.18.0.5",
  "fc00:f853:ccd:e793::5",
  "::ffff:10.0.0.1",
  "1:2:3:4:5:6:7:8",
  "::",
  "localhost:6443",
  "registry.k8s.io/kube-apiserver:v1.31.0",
];
const ALPHABET = "0123456789abcdefABCDEFgxz:.%/[] \n-";

/**
 * Text near addresses: a seed with a few random insertions, deletions and replacements drawn
 * from the characters addresses and `host:port` text are made of, or random runs of them.
 */
export function garbage(next: () => number): string {
  const pick = (s: string) => s[Math.floor(next() * s.length)];
  if (next() < 0.2) {
    return Array.from({ length: Math.floor(next() * 24) }, () => pick(ALPHABET)).join("");
  }
  let text = SEEDS[Math.floor(next() * SEEDS.length)];
  for (let edits = Math.floor(next() * 4); edits > 0; edits--) {
    const at = Math.floor(next() * (text.length + 1));
    const what = next();
    if (what < 0.4) text = text.slice(0, at) + pick(ALPHABET) + text.slice(at);
    else if (what < 0.7) text = text.slice(0, at) + text.slice(at + 1);
    else text = text.slice(0, at) + pick(ALPHABET) + text.slice(at + 1);
  }
  return text;
}
