/**
 * A tiny DNS responder for the probe's unit tests, run as its own process (the probe blocks the
 * test's event loop while it polls). Usage: dns_responder.ts MODE [PORT [DELAY_MS]]; prints
 * `PORT\n` when ready. MODE: `answer` (A 10.1.2.3 for any name, after a stray datagram with a
 * wrong ID over UDP), `silent` (reads and never answers), `drop-first` (as `answer`, but the first
 * UDP query goes unanswered, as if lost). PORT: the loopback port to listen on
 * (default: any free one); DELAY_MS: how long to wait before listening (a resolver starting late).
 */
import * as dgram from "node:dgram";
import * as net from "node:net";
import process from "node:process";

const mode = Deno.args[0] ?? "answer";

/** An answer to `query` (copied question) with one A record, or with `id` replaced. */
function answer(query: Uint8Array, id?: number): Uint8Array {
  let end = 12;
  while (query[end] !== 0) end += query[end] + 1;
  end += 5;
  const out = new Uint8Array(end + 16);
  out.set(query.subarray(0, end));
  const view = new DataView(out.buffer);
  if (id !== undefined) view.setUint16(0, id);
  view.setUint16(2, 0x8580); // QR AA RD RA, NOERROR
  view.setUint16(6, 1); // ANCOUNT
  out.set([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 1, 2, 3], end);
  return out;
}

const udp = dgram.createSocket("udp4");
const tcp = net.createServer((socket) => {
  let buffered = new Uint8Array(0);
  socket.on("data", (chunk: Uint8Array) => {
    buffered = new Uint8Array([...buffered, ...chunk]);
    if (buffered.length < 2 || mode === "silent") return;
    const length = (buffered[0] << 8) | buffered[1];
    if (buffered.length < 2 + length) return;
    const reply = answer(buffered.subarray(2, 2 + length));
    socket.write(new Uint8Array([reply.length >> 8, reply.length & 0xff, ...reply]));
  });
});
let dropped = false;
udp.on("message", (message: Uint8Array, peer: dgram.RemoteInfo) => {
  if (mode === "silent") return;
  if (mode === "drop-first" && !dropped) {
    dropped = true;
    return;
  }
  const wrongId = (new DataView(message.buffer, message.byteOffset).getUint16(0) + 1) & 0xffff;
  udp.send(answer(message, wrongId), peer.port, peer.address);
  udp.send(answer(message), peer.port, peer.address);
});
setTimeout(() => {
  udp.bind(Number(Deno.args[1] ?? 0), "127.0.0.1", () => {
    const { port } = udp.address();
    tcp.listen(port, "127.0.0.1", () => process.stdout.write(`${port}\n`));
  });
}, Number(Deno.args[2] ?? 0));
