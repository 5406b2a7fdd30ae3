import assert from "node:assert/strict";
import { addressesOf, buildQuery, frameForTcp, mismatch, parseResponse } from "./message.ts";

// kind-control-plane A IN, ID 0x1234, RD: the bytes dig sends with +noedns +noad.
// deno-fmt-ignore
const QUERY = [
  0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
  18, ...new TextEncoder().encode("kind-control-plane"), 0,
  0, 1, 0, 1,
];

// Docker's embedded resolver's answer to it: A 172.18.0.2, TTL 600.
// deno-fmt-ignore
const ANSWER = new Uint8Array([
  0x12, 0x34, 0x85, 0x80, 0, 1, 0, 1, 0, 0, 0, 0,
  18, ...new TextEncoder().encode("kind-control-plane"), 0,
  0, 1, 0, 1,
  0xc0, 12, 0, 1, 0, 1, 0, 0, 2, 0x58, 0, 4, 172, 18, 0, 2,
]);

Deno.test("buildQuery() builds an A/IN query with recursion desired", () => {
  assert.deepEqual([...buildQuery("kind-control-plane", 0x1234)], QUERY);
});

Deno.test("buildQuery() ignores a trailing dot and refuses empty or overlong labels", () => {
  assert.deepEqual([...buildQuery("kind-control-plane.", 0x1234)], QUERY);
  assert.throws(() => buildQuery("", 1), /empty/);
  assert.throws(() => buildQuery("a..b", 1), /label of 0 bytes/);
  assert.throws(() => buildQuery("x".repeat(64), 1), /label of 64 bytes/);
});

Deno.test("frameForTcp() puts the two-byte length first", () => {
  assert.deepEqual([...frameForTcp(new Uint8Array([7, 8, 9]))], [0, 3, 7, 8, 9]);
});

Deno.test("parseResponse() reads the header, the question and a compressed A record", () => {
  const response = parseResponse(ANSWER);
  assert.deepEqual(response, {
    id: 0x1234,
    rcode: 0,
    status: "NOERROR",
    authoritative: true,
    truncated: false,
    question: { name: "kind-control-plane.", type: 1, class: 1 },
    answers: [{ name: "kind-control-plane.", type: 1, ttl: 600, data: "172.18.0.2" }],
  });
  assert.deepEqual(addressesOf(response), ["172.18.0.2"]);
  assert.equal(mismatch(response, "Kind-Control-Plane", 0x1234), undefined);
});

Deno.test("parseResponse() follows a CNAME and names NXDOMAIN as dig does", () => {
  // deno-fmt-ignore
  const cname = new Uint8Array([
    ...ANSWER.subarray(0, 7), 2, ...ANSWER.subarray(8, 12 + 20 + 4),
    0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 5, 0, 4, 1, 0x78, 0xc0, 12,
    0xc0, 48, 0, 1, 0, 1, 0, 0, 0, 5, 0, 4, 10, 0, 0, 1,
  ]);
  assert.deepEqual(parseResponse(cname).answers, [
    { name: "kind-control-plane.", type: 5, ttl: 5, data: "x.kind-control-plane." },
    { name: "x.kind-control-plane.", type: 1, ttl: 5, data: "10.0.0.1" },
  ]);
  const nx = Uint8Array.from(ANSWER.subarray(0, 36));
  nx[3] = 0x83;
  nx[7] = 0;
  assert.equal(parseResponse(nx).status, "NXDOMAIN");
});

Deno.test("parseResponse() says what is wrong with a message that is not a response", () => {
  assert.throws(() => parseResponse(new Uint8Array(5)), /5 bytes, not 12\+/);
  assert.throws(() => parseResponse(Uint8Array.from(QUERY)), /a query, not a response/);
  assert.throws(() => parseResponse(ANSWER.subarray(0, ANSWER.length - 2)), /runs past the end/);
  const loop = Uint8Array.from(ANSWER);
  loop.set([0xc0, 12 + 20 + 4], 12 + 20 + 4);
  assert.throws(() => parseResponse(loop), /compression loop/);
});

Deno.test("mismatch() rejects an answer with another ID or question", () => {
  const response = parseResponse(ANSWER);
  assert.equal(mismatch(response, "kind-control-plane", 1), "the response has ID 4660, not 1");
  assert.match(mismatch(response, "other", 0x1234)!, /for kind-control-plane\. type 1/);
});
