/**
 * The little of a DNS message (RFC 1035) the relay looks at: it forwards every query unchanged,
 * so it only checks that a datagram is a query, finds the end of its question (to match an answer
 * to its query and to build a SERVFAIL) and frames messages for TCP. Pure: bytes in, bytes out.
 */

/** Size of the fixed header before the question. */
const HEADER_SIZE = 12;
/** The largest DNS message: TCP's two-byte length, and the largest UDP payload. */
export const MAX_MESSAGE_SIZE = 65535;

const FLAG_QR = 0x80; // in byte 2
const OPCODE_MASK = 0x78; // in byte 2
const FLAG_RD = 0x01; // in byte 2
const FLAG_RA = 0x80; // in byte 3
const RCODE_SERVFAIL = 2;

/**
 * Where the question of a message ends (the offset after QTYPE and QCLASS), or undefined when the
 * message has no complete question: shorter than a header, QDCOUNT other than 1, a name that runs
 * past the end, a label longer than 63 bytes or a compression pointer (a question's name is the
 * first in the message, so it has nothing to point back to).
 */
export function questionEnd(message: Uint8Array): number | undefined {
  if (message.length < HEADER_SIZE) return undefined;
  if (((message[4] << 8) | message[5]) !== 1) return undefined;
  let offset = HEADER_SIZE;
  for (;;) {
    if (offset >= message.length) return undefined;
    const length = message[offset];
    if (length === 0) break;
    if (length > 63) return undefined;
    offset += 1 + length;
  }
  const end = offset + 1 + 4;
  return end <= message.length ? end : undefined;
}

/** What the relay does with a message a client sent it. */
export type QueryVerdict =
  /** Forward it unchanged; `questionEnd` is where its question ends. */
  | { action: "forward"; questionEnd: number }
  /** Answer SERVFAIL at once: a query whose question cannot be read. */
  | { action: "servfail" }
  /** Drop it: too short to answer, or a response (answering one could start a loop). */
  | { action: "drop" };

/** Decides what to do with one message from a client. */
export function judgeQuery(message: Uint8Array): QueryVerdict {
  if (message.length < HEADER_SIZE || (message[2] & FLAG_QR) !== 0) return { action: "drop" };
  const end = questionEnd(message);
  return end === undefined ? { action: "servfail" } : { action: "forward", questionEnd: end };
}

/**
 * The SERVFAIL answer to `query` (at least a header): its ID, opcode and RD flag, QR and RA set,
 * and its question when it has a readable one, with no records.
 */
export function servfail(query: Uint8Array): Uint8Array {
  const end = questionEnd(query);
  const answer = new Uint8Array(end ?? HEADER_SIZE);
  answer.set(query.subarray(0, answer.length));
  answer[2] = FLAG_QR | (query[2] & (OPCODE_MASK | FLAG_RD));
  answer[3] = FLAG_RA | RCODE_SERVFAIL;
  answer[4] = 0;
  answer[5] = end === undefined ? 0 : 1;
  answer.fill(0, 6, HEADER_SIZE);
  return answer;
}

/**
 * Whether `answer` answers `query`: a response with the query's ID and the same question, byte
 * for byte (`questionEnd` is where the query's question ends). A late answer to an earlier query
 * that had the same ID then cannot reach the wrong client.
 */
export function answers(answer: Uint8Array, query: Uint8Array, questionEnd: number): boolean {
  if (answer.length < questionEnd || (answer[2] & FLAG_QR) === 0) return false;
  if (answer[0] !== query[0] || answer[1] !== query[1]) return false;
  for (let i = 4; i < 6; i++) if (answer[i] !== query[i]) return false;
  for (let i = HEADER_SIZE; i < questionEnd; i++) if (answer[i] !== query[i]) return false;
  return true;
}

/** The message ID (the first two bytes). */
export function messageId(message: Uint8Array): number {
  return (message[0] << 8) | message[1];
}

/** `message` with the two-byte length prefix DNS over TCP puts before each message. */
export function frame(message: Uint8Array): Uint8Array {
  if (message.length > MAX_MESSAGE_SIZE) {
    throw new RangeError(`A DNS message of ${message.length} bytes cannot be framed for TCP`);
  }
  const framed = new Uint8Array(message.length + 2);
  framed[0] = message.length >> 8;
  framed[1] = message.length & 0xff;
  framed.set(message, 2);
  return framed;
}

/**
 * Splits a TCP byte stream into DNS messages: `push` takes bytes as they arrive (in any pieces)
 * and returns the messages they complete, each a copy; a message is complete once its two-byte
 * length and that many bytes have arrived. Each byte is copied once, however small the pieces:
 * a message that spans pushes is gathered into one buffer of its announced length.
 */
export class FrameReader {
  /** The first byte of a length prefix whose second byte has not arrived. */
  #high: number | undefined;
  /** The message being gathered, sized from its length prefix. */
  #message: Uint8Array | undefined;
  #filled = 0;

  /** Adds received bytes; returns the messages now complete, in order. */
  push(bytes: Uint8Array): Uint8Array[] {
    const messages: Uint8Array[] = [];
    let offset = 0;
    while (offset < bytes.length) {
      if (this.#message === undefined) {
        let length: number;
        if (this.#high !== undefined) {
          length = (this.#high << 8) | bytes[offset++];
          this.#high = undefined;
        } else if (bytes.length - offset >= 2) {
          length = (bytes[offset] << 8) | bytes[offset + 1];
          offset += 2;
        } else {
          this.#high = bytes[offset++];
          break;
        }
        if (bytes.length - offset >= length) {
          messages.push(bytes.slice(offset, offset + length));
          offset += length;
          continue;
        }
        this.#message = new Uint8Array(length);
        this.#filled = 0;
      }
      const take = Math.min(this.#message.length - this.#filled, bytes.length - offset);
      this.#message.set(bytes.subarray(offset, offset + take), this.#filled);
      this.#filled += take;
      offset += take;
      if (this.#filled === this.#message.length) {
        messages.push(this.#message);
        this.#message = undefined;
      }
    }
    return messages;
  }

  /** Bytes received that do not yet make a whole message. */
  get pending(): number {
    if (this.#high !== undefined) return 1;
    return this.#message === undefined ? 0 : 2 + this.#filled;
  }
}
