import assert from "node:assert/strict";
import { kernelProbe } from "../probe.ts";
import { type Kernel, loadKernel } from "../sockets.ts";
import { kernelInNetns } from "./netns.ts";

Deno.test("a probe from a namespace that cannot be opened says which, and sends nothing", () => {
  const kernel = loadKernel()!;
  const start = kernelProbe(kernelInNetns(kernel, "/nonexistent/netns"));
  assert.throws(
    () => start({ server: "127.0.0.1", name: "node.test", transports: ["UDP"], timeoutMs: 10 }),
    /^Error: Cannot open \/nonexistent\/netns: no such file or directory$/,
  );
});

Deno.test("kernelInNetns() enters the namespace around each socket call only, and returns", () => {
  const calls: string[] = [];
  const kernel: Kernel = {
    socket: (type) => {
      calls.push(`socket ${type}`);
      return 7;
    },
    connect: () => 0,
    send: () => 0,
    recv: () => -1,
    poll: () => 0,
    socketError: () => 0,
    open: (path) => {
      calls.push(`open ${path}`);
      return path === "/run/netns/pod" ? 21 : 20;
    },
    setns: (fd) => {
      calls.push(`setns ${fd}`);
      return 0;
    },
    close: (fd) => {
      calls.push(`close ${fd}`);
      return 0;
    },
    errno: () => 0,
  };
  assert.equal(kernelInNetns(kernel, "/run/netns/pod").socket(2), 7);
  assert.deepEqual(calls, [
    "open /proc/thread-self/ns/net",
    "open /run/netns/pod",
    "setns 21",
    "close 21",
    "socket 2",
    "setns 20",
    "close 20",
  ]);
});

Deno.test("kernelInNetns() closes the socket and throws when it cannot return to its namespace", () => {
  const closed: number[] = [];
  const kernel = {
    ...loadKernel()!,
    socket: () => 7,
    open: (path: string) => path.startsWith("/proc") ? 20 : 21,
    setns: (fd: number) => fd === 21 ? 0 : -1,
    close: (fd: number) => {
      closed.push(fd);
      return 0;
    },
    errno: () => 1,
  };
  assert.throws(
    () => kernelInNetns(kernel, "/run/netns/pod").socket(2),
    /^Error: Cannot return from the network namespace \/run\/netns\/pod: operation not permitted$/,
  );
  assert.deepEqual(closed, [21, 20, 7]);
});
