/**
 * DNS messages (RFC 1035) as the DNS check needs them: one A query built, one answer parsed. Pure:
 * bytes in, values out; the sockets are in lib/dns/probe.ts.
 */

/** Record type A (an IPv4 address). */
export const TYPE_A = 1;
/** Record type CNAME. */
export const TYPE_CNAME = 5;
/** Class IN. */
export const CLASS_IN = 1;

/** Response codes by number, with the mnemonics dig prints in its `status:` field. */
const RCODE_NAMES: Record<number, string> = {
  0: "NOERROR",
  1: "FORMERR",
  2: "SERVFAIL",
  3: "NXDOMAIN",
  4: "NOTIMP",
  5: "REFUSED",
};

/** Query flags: recursion desired, as dig and glibc's resolver send it. */
const FLAG_RD = 0x0100;
const FLAG_QR = 0x8000;
const FLAG_TC = 0x0200;

/** A name in the question of `buildQuery`: dot-separated labels of 1..63 bytes, 253 in all. */
function encodeName(name: string): number[] {
  const trimmed = name.replace(/\.$/, "");
  if (trimmed === "") throw new Error("the name to ask for is empty");
  const bytes: number[] = [];
  const encoder = new TextEncoder();
  for (const label of trimmed.split(".")) {
    const encoded = encoder.encode(label);
    if (encoded.length === 0 || encoded.length > 63) {
      throw new Error(`the name ${JSON.stringify(name)} has a label of ${encoded.length} bytes`);
    }
    bytes.push(encoded.length, ...encoded);
  }
  bytes.push(0);
  if (bytes.length > 255) throw new Error(`the name ${JSON.stringify(name)} is too long`);
  return bytes;
}

/** An A/IN query for `name` with recursion desired and message ID `id`. */
export function buildQuery(name: string, id: number): Uint8Array {
  const question = encodeName(name);
  const message = new Uint8Array(12 + question.length + 4);
  const view = new DataView(message.buffer);
  view.setUint16(0, id & 0xffff);
  view.setUint16(2, FLAG_RD);
  view.setUint16(4, 1); // QDCOUNT
  message.set(question, 12);
  view.setUint16(12 + question.length, TYPE_A);
  view.setUint16(14 + question.length, CLASS_IN);
  return message;
}

/** `message` with the two-byte length prefix DNS over TCP puts before each message. */
export function frameForTcp(message: Uint8Array): Uint8Array {
  const framed = new Uint8Array(message.length + 2);
  new DataView(framed.buffer).setUint16(0, message.length);
  framed.set(message, 2);
  return framed;
}

/** One resource record of the answer section. */
export interface DnsRecord {
  /** Owner name, lower case, with the trailing dot dig prints. */
  name: string;
  type: number;
  ttl: number;
  /** A: dotted quad; CNAME: the target name with a trailing dot; others: hex of the RDATA. */
  data: string;
}

/** A parsed DNS response. */
export interface DnsResponse {
  id: number;
  rcode: number;
  /** `NOERROR`, `NXDOMAIN`, ... (`RCODE<n>` for others). */
  status: string;
  /** Authoritative answer flag. */
  authoritative: boolean;
  /** The response was cut short (TC): over UDP it says "ask again over TCP". */
  truncated: boolean;
  question: { name: string; type: number; class: number };
  answers: DnsRecord[];
}

/** Reads a possibly compressed name at `offset`; returns it and the offset after it. */
function readName(message: Uint8Array, offset: number): { name: string; next: number } {
  const labels: string[] = [];
  let next = -1;
  let jumps = 0;
  let at = offset;
  const decoder = new TextDecoder();
  for (;;) {
    if (at >= message.length) throw new Error("a name runs past the end of the message");
    const length = message[at];
    if ((length & 0xc0) === 0xc0) {
      if (at + 1 >= message.length) throw new Error("a name pointer runs past the end");
      if (++jumps > 64) throw new Error("a name has a compression loop");
      if (next < 0) next = at + 2;
      at = ((length & 0x3f) << 8) | message[at + 1];
      continue;
    }
    if ((length & 0xc0) !== 0) throw new Error(`a name has an unknown label type ${length}`);
    if (length === 0) {
      if (next < 0) next = at + 1;
      break;
    }
    if (at + 1 + length > message.length) throw new Error("a label runs past the end");
    labels.push(decoder.decode(message.subarray(at + 1, at + 1 + length)).toLowerCase());
    at += 1 + length;
  }
  return { name: `${labels.join(".")}.`, next };
}

function hex(bytes: Uint8Array): string {
  return [...bytes].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

/**
 * Parses a DNS response. Throws, saying what is wrong, when `message` is not a well-formed
 * response (too short, a query, a name or record running past the end).
 */
export function parseResponse(message: Uint8Array): DnsResponse {
  if (message.length < 12) throw new Error(`the message has ${message.length} bytes, not 12+`);
  const view = new DataView(message.buffer, message.byteOffset, message.byteLength);
  const flags = view.getUint16(2);
  if ((flags & FLAG_QR) === 0) throw new Error("the message is a query, not a response");
  const qdcount = view.getUint16(4);
  const ancount = view.getUint16(6);
  if (qdcount !== 1) throw new Error(`the response has ${qdcount} questions, not 1`);
  const qname = readName(message, 12);
  if (qname.next + 4 > message.length) throw new Error("the question runs past the end");
  const question = {
    name: qname.name,
    type: view.getUint16(qname.next),
    class: view.getUint16(qname.next + 2),
  };
  let at = qname.next + 4;
  const answers: DnsRecord[] = [];
  for (let i = 0; i < ancount; i++) {
    const owner = readName(message, at);
    at = owner.next;
    if (at + 10 > message.length) throw new Error("a record runs past the end");
    const type = view.getUint16(at);
    const ttl = view.getUint32(at + 4);
    const length = view.getUint16(at + 8);
    at += 10;
    if (at + length > message.length) throw new Error("a record's data runs past the end");
    const rdata = message.subarray(at, at + length);
    let data: string;
    if (type === TYPE_A && length === 4) data = rdata.join(".");
    else if (type === TYPE_CNAME) data = readName(message, at).name;
    else data = hex(rdata);
    answers.push({ name: owner.name, type, ttl, data });
    at += length;
  }
  const rcode = flags & 0x000f;
  return {
    id: view.getUint16(0),
    rcode,
    status: RCODE_NAMES[rcode] ?? `RCODE${rcode}`,
    authoritative: (flags & 0x0400) !== 0,
    truncated: (flags & FLAG_TC) !== 0,
    question,
    answers,
  };
}

/**
 * Why `response` does not answer the query for `name` with ID `id`, or undefined when it does.
 * Any response code counts as an answer: the check is about the path to the server, and a
 * server that says NXDOMAIN has been reached.
 */
export function mismatch(response: DnsResponse, name: string, id: number): string | undefined {
  if (response.id !== id) return `the response has ID ${response.id}, not ${id}`;
  const asked = `${name.replace(/\.$/, "").toLowerCase()}.`;
  if (response.question.name !== asked || response.question.type !== TYPE_A) {
    return `the response is for ${response.question.name} type ${response.question.type}`;
  }
  return undefined;
}

/** The A addresses of a response, in order. */
export function addressesOf(response: DnsResponse): string[] {
  return response.answers.filter((record) => record.type === TYPE_A).map((record) => record.data);
}
