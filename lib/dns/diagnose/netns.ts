/**
 * Probes from another network namespace, for the diagnosis (lib/dns/diagnose/diagnose.ts): a `Kernel` whose
 * sockets are made there. The calling thread enters the namespace with setns(2) only around each
 * socket(2) call (a socket belongs to the namespace it was made in) and returns at once, so
 * nothing else of the process ever runs there. Not part of a boot, whose probe stays in the
 * node's namespace.
 */
import type { Kernel } from "../sockets.ts";
import { errnoWords } from "../../errors.ts";

/** `k` with its sockets made in the network namespace at `path` (such as /run/netns/NAME). */
export function kernelInNetns(k: Kernel, path: string): Kernel {
  return { ...k, socket: (type, family) => inNetns(k, path, () => k.socket(type, family)) };
}

/** Runs `make` (one socket call) in the namespace at `path`, and returns to this one. */
function inNetns(k: Kernel, path: string, make: () => number): number {
  const home = k.open("/proc/thread-self/ns/net");
  if (home < 0) {
    throw new Error(`Cannot open this thread's network namespace: ${errnoWords(k.errno())}`);
  }
  const target = k.open(path);
  if (target < 0) {
    const why = errnoWords(k.errno());
    k.close(home);
    throw new Error(`Cannot open ${path}: ${why}`);
  }
  const entered = k.setns(target);
  const why = errnoWords(k.errno());
  k.close(target);
  if (entered !== 0) {
    k.close(home);
    throw new Error(`Cannot enter the network namespace ${path}: ${why}`);
  }
  const fd = make();
  const back = k.setns(home);
  const whyNot = errnoWords(k.errno());
  k.close(home);
  if (back !== 0) {
    // Nothing else of this process may run in the probe's namespace.
    if (fd >= 0) k.close(fd);
    throw new Error(`Cannot return from the network namespace ${path}: ${whyNot}`);
  }
  return fd;
}
