import assert from "node:assert/strict";
import { buildQuery } from "../message.ts";
import {
  answers,
  frame,
  FrameReader,
  judgeQuery,
  messageId,
  questionEnd,
  servfail,
} from "./message.ts";

const QUERY = buildQuery("kind-worker", 0xbeef);
// 12 header bytes, 1 + 11 + 1 name bytes, type and class.
const QUESTION_END = 12 + 13 + 4;

Deno.test("questionEnd() finds the end of a query's question", () => {
  assert.equal(questionEnd(QUERY), QUESTION_END);
});

Deno.test("questionEnd() refuses a message without exactly one complete question", () => {
  assert.equal(questionEnd(QUERY.subarray(0, 11)), undefined, "short header");
  assert.equal(questionEnd(QUERY.subarray(0, QUESTION_END - 1)), undefined, "cut class");
  assert.equal(questionEnd(QUERY.subarray(0, 20)), undefined, "cut name");
  const none = QUERY.slice();
  none[5] = 0;
  assert.equal(questionEnd(none), undefined, "QDCOUNT 0");
  const two = QUERY.slice();
  two[5] = 2;
  assert.equal(questionEnd(two), undefined, "QDCOUNT 2");
  const pointer = QUERY.slice();
  pointer[12] = 0xc0;
  assert.equal(questionEnd(pointer), undefined, "compression pointer");
});

Deno.test("judgeQuery() forwards a query, drops responses and scraps, answers the unreadable", () => {
  assert.deepEqual(judgeQuery(QUERY), { action: "forward", questionEnd: QUESTION_END });
  const response = QUERY.slice();
  response[2] |= 0x80;
  assert.deepEqual(judgeQuery(response), { action: "drop" });
  assert.deepEqual(judgeQuery(new Uint8Array([1, 2, 3])), { action: "drop" });
  assert.deepEqual(judgeQuery(QUERY.subarray(0, 20)), { action: "servfail" });
});

Deno.test("servfail() keeps the ID, opcode, RD and question and sets QR, RA and SERVFAIL", () => {
  const answer = servfail(QUERY);
  assert.equal(messageId(answer), 0xbeef);
  assert.deepEqual([...answer.subarray(2, 12)], [0x81, 0x82, 0, 1, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(answer.subarray(12), QUERY.subarray(12, QUESTION_END));
  assert.equal(answers(answer, QUERY, QUESTION_END), true);
});

Deno.test("servfail() of a query with an unreadable question is a bare header", () => {
  const broken = QUERY.slice(0, 20);
  broken[2] = 0x11; // opcode 2 (STATUS), RD
  const answer = servfail(broken);
  assert.deepEqual([...answer], [0xbe, 0xef, 0x91, 0x82, 0, 0, 0, 0, 0, 0, 0, 0]);
});

Deno.test("answers() matches ID and question, and refuses queries and other questions", () => {
  const answer = QUERY.slice();
  answer[2] |= 0x80;
  assert.equal(answers(answer, QUERY, QUESTION_END), true);
  assert.equal(answers(QUERY, QUERY, QUESTION_END), false, "not a response");
  const otherId = answer.slice();
  otherId[1] ^= 1;
  assert.equal(answers(otherId, QUERY, QUESTION_END), false, "other ID");
  const otherName = answer.slice();
  otherName[14] ^= 0x20;
  assert.equal(answers(otherName, QUERY, QUESTION_END), false, "other name");
  assert.equal(answers(answer.subarray(0, 20), QUERY, QUESTION_END), false, "cut short");
});

Deno.test("frame() puts the two-byte length first and refuses what does not fit", () => {
  assert.deepEqual([...frame(new Uint8Array([7, 8, 9]))], [0, 3, 7, 8, 9]);
  assert.deepEqual([...frame(new Uint8Array(258)).subarray(0, 2)], [1, 2]);
  assert.throws(() => frame(new Uint8Array(65536)), /65536 bytes/);
});

Deno.test("FrameReader splits a stream into messages whatever pieces it arrives in", () => {
  const stream = new Uint8Array([...frame(QUERY), ...frame(new Uint8Array([1, 2])), 0]);
  for (let cut = 0; cut <= stream.length; cut++) {
    const reader = new FrameReader();
    const messages = [
      ...reader.push(stream.subarray(0, cut)),
      ...reader.push(stream.subarray(cut)),
    ];
    assert.deepEqual(messages, [QUERY, new Uint8Array([1, 2])], `cut at ${cut}`);
    assert.equal(reader.pending, 1, `cut at ${cut}`);
  }
});

Deno.test("FrameReader byte by byte yields the message once its last byte is in", () => {
  const reader = new FrameReader();
  const framed = frame(QUERY);
  for (let i = 0; i < framed.length - 1; i++) {
    assert.deepEqual(reader.push(framed.subarray(i, i + 1)), []);
  }
  assert.deepEqual(reader.push(framed.subarray(framed.length - 1)), [QUERY]);
  assert.equal(reader.pending, 0);
});

Deno.test("FrameReader fed a 64 KB message a byte at a time does linear work", () => {
  // A reader that copies what it holds on each push does ~2 GB of copying here (seconds of CPU);
  // one that copies each byte once, ~64 KB. The bound is far from both.
  const framed = frame(new Uint8Array(65535).fill(7));
  const reader = new FrameReader();
  const started = performance.now();
  let messages: Uint8Array[] = [];
  for (let i = 0; i < framed.length; i++) messages = reader.push(framed.subarray(i, i + 1));
  const elapsed = performance.now() - started;
  assert.equal(messages.length, 1);
  assert.equal(messages[0].length, 65535);
  assert.ok(elapsed < 250, `${Math.round(elapsed)} ms for 65,537 one-byte pushes`);
});
