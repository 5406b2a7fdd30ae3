import assert from "node:assert/strict";
import { isAddress, parseIPv4, parseIPv6 } from "./ip.ts";
import { garbage, random } from "../test/support/generate.ts";

Deno.test("parseIPv4() reads dotted quads and refuses everything else", () => {
  assert.deepEqual(parseIPv4("172.18.0.5"), [172, 18, 0, 5]);
  assert.deepEqual(parseIPv4("0.0.0.0"), [0, 0, 0, 0]);
  assert.deepEqual(parseIPv4("255.255.255.255"), [255, 255, 255, 255]);
  for (
    const bad of [
      "",
      "172.18.0",
      "172.18.0.5.1",
      "256.1.1.1",
      "01.2.3.4",
      "1.2.3.4 ",
      " 1.2.3.4",
      "1..2.3",
      "1.2.3.",
      "0x1.2.3.4",
      "1.2.3.4/24",
      "+1.2.3.4",
      "1.2.3.4\n",
      "١.٢.٣.٤",
    ]
  ) {
    assert.equal(parseIPv4(bad), undefined, JSON.stringify(bad));
  }
});

Deno.test("parseIPv6() reads RFC 4291's three text forms", () => {
  const cases: [string, number[]][] = [
    ["2001:db8:0:0:8:800:200c:417a", [0x2001, 0xdb8, 0, 0, 8, 0x800, 0x200c, 0x417a]],
    ["2001:DB8::8:800:200C:417A", [0x2001, 0xdb8, 0, 0, 8, 0x800, 0x200c, 0x417a]],
    ["ff01::101", [0xff01, 0, 0, 0, 0, 0, 0, 0x101]],
    ["::1", [0, 0, 0, 0, 0, 0, 0, 1]],
    ["::", [0, 0, 0, 0, 0, 0, 0, 0]],
    ["fc00:f853:ccd:e793::5", [0xfc00, 0xf853, 0xccd, 0xe793, 0, 0, 0, 5]],
    ["1:2:3:4:5:6:7::", [1, 2, 3, 4, 5, 6, 7, 0]],
    ["::2:3:4:5:6:7:8", [0, 2, 3, 4, 5, 6, 7, 8]],
    ["0:0:0:0:0:0:13.1.68.3", [0, 0, 0, 0, 0, 0, 0x0d01, 0x4403]],
    ["::ffff:129.144.52.38", [0, 0, 0, 0, 0, 0xffff, 0x8190, 0x3426]],
    ["0001:0002:0003:0004:0005:0006:0007:0008", [1, 2, 3, 4, 5, 6, 7, 8]],
  ];
  for (const [text, groups] of cases) assert.deepEqual(parseIPv6(text), groups, text);
});

Deno.test("parseIPv6() refuses host:port, image:tag, zones and broken forms", () => {
  for (
    const bad of [
      "",
      ":",
      ":::",
      "1::2::3",
      "1:2:3:4:5:6:7:8:9",
      "1:2:3:4:5:6:7",
      "1:2:3:4:5:6:7:8::",
      "::1:2:3:4:5:6:7:8",
      "12345::",
      ":1::",
      "::1:",
      "g::1",
      "fe80::1%eth0",
      "[::1]",
      "::1/128",
      "1.2.3.4",
      "1.2.3.4::",
      "::1.2.3.4:5",
      "::1.2.3",
      "::256.1.1.1",
      "1:2:3:4:5:6:7:1.2.3.4",
      "localhost:6443",
      "kube-apiserver:v1.31.0",
      "registry.k8s.io/pause:3.10",
      "abc:80",
      "dead:beef",
      " ::1",
      "::1\n",
    ]
  ) {
    assert.equal(parseIPv6(bad), undefined, JSON.stringify(bad));
  }
});

// glibc's inet_pton is the reference: strict dotted quads (no leading zeros) and RFC 4291's
// IPv6 forms without zones, exactly what the parsers promise.
const libc = Deno.dlopen("libc.so.6", {
  inet_pton: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
}).symbols;
const AF_INET = 2;
const AF_INET6 = 10;

function inetPton(text: string, family: 4 | 6): number[] | undefined {
  const out = new Uint8Array(16);
  const ok = libc.inet_pton(
    family === 4 ? AF_INET : AF_INET6,
    new TextEncoder().encode(`${text}\0`),
    out,
  );
  if (ok !== 1) return undefined;
  if (family === 4) return [...out.subarray(0, 4)];
  return Array.from({ length: 8 }, (_, i) => (out[2 * i] << 8) | out[2 * i + 1]);
}

Deno.test("parseIPv4() and parseIPv6() agree with glibc's inet_pton on 20000 generated texts", () => {
  const next = random(20260101);
  let accepted = 0;
  for (let i = 0; i < 20000; i++) {
    const text = garbage(next);
    for (const family of [4, 6] as const) {
      const ours = family === 4 ? parseIPv4(text) : parseIPv6(text);
      assert.deepEqual(ours, inetPton(text, family), `IPv${family} ${JSON.stringify(text)}`);
      if (ours) accepted++;
    }
  }
  // The generator must reach both answers, or the comparison proves little.
  assert.ok(accepted > 2000, `only ${accepted} generated texts were addresses`);
});

Deno.test("isAddress() answers for the family asked", () => {
  assert.equal(isAddress("172.18.0.5", 4), true);
  assert.equal(isAddress("172.18.0.5", 6), false);
  assert.equal(isAddress("fc00::5", 6), true);
  assert.equal(isAddress("fc00::5", 4), false);
});
