/**
 * Name lookups with the semantics of `getent ahostsv4` / `getent ahostsv6`, without a process.
 *
 * kind's bash takes the first line of `timeout 5 getent ahostsvN NAME`. getent calls getaddrinfo
 * with AI_V4MAPPED | AI_ADDRCONFIG | AI_CANONNAME (plus AI_IDN), so an IPv6 lookup of an
 * IPv4-only name answers `::ffff:a.b.c.d`. glibc's getaddrinfo is called through FFI with those
 * flags; without FFI or a known struct layout (lib/host/abi.ts) no name resolves.
 */

import { type Abi, AF_INET, AF_INET6, runningAbi, SOCKADDR } from "./abi.ts";
import { cString, type Libc, loadLibc } from "./ffi.ts";
import { after } from "./timer.ts";

const AI_CANONNAME = 0x0002;
const AI_V4MAPPED = 0x0008;
const AI_ADDRCONFIG = 0x0020;
const AI_IDN = 0x0040;

/** First address of `getent ahostsv4|ahostsv6 name`, or undefined (not found or timed out). */
export async function lookupAddress(
  name: string,
  family: 4 | 6,
  timeoutMs: number,
): Promise<string | undefined> {
  const libc = loadLibc();
  // struct addrinfo is read by this architecture's layout.
  const abi = runningAbi();
  if (!libc || !abi) return undefined;
  const timeout = new Promise<undefined>((resolve) => after(timeoutMs, () => resolve(undefined)));
  const lookup = lookupWithLibc(libc, abi, name, family).catch(() => undefined);
  return await Promise.race([lookup, timeout]);
}

async function lookupWithLibc(
  symbols: Libc,
  abi: Abi,
  name: string,
  family: 4 | 6,
): Promise<string | undefined> {
  const layout = abi.addrinfo;
  const hints = new Uint8Array(layout.bytes);
  // ints in the machine's byte order
  const flags = AI_V4MAPPED | AI_ADDRCONFIG | AI_CANONNAME | AI_IDN;
  new Int32Array(hints.buffer, layout.flagsOffset, 1)[0] = flags;
  new Int32Array(hints.buffer, layout.familyOffset, 1)[0] = family === 4 ? AF_INET : AF_INET6;
  const out = new BigUint64Array(1);
  const rc = await symbols.getaddrinfo(cString(name), null, hints, out);
  if (rc !== 0 || out[0] === 0n) return undefined;
  const head = Deno.UnsafePointer.create(out[0]);
  try {
    const info = new Deno.UnsafePointerView(head!);
    const aiFamily = info.getInt32(layout.familyOffset);
    const addr = info.getPointer(layout.addrOffset);
    if (!addr) return undefined;
    const sockaddr = new Deno.UnsafePointerView(addr);
    const text = new Uint8Array(64);
    const src = Deno.UnsafePointer.offset(
      addr,
      aiFamily === AF_INET ? SOCKADDR.in4Addr : SOCKADDR.in6Addr,
    );
    if (!symbols.inet_ntop(aiFamily, src, text, text.length)) return undefined;
    let address = new TextDecoder().decode(text.subarray(0, text.indexOf(0)));
    // getent prints a link-local address with its scope id, as `fe80::1%2`.
    if (aiFamily === AF_INET6) {
      const scope = sockaddr.getUint32(SOCKADDR.in6ScopeId);
      if (scope !== 0) address += `%${scope}`;
    }
    return address;
  } finally {
    symbols.freeaddrinfo(head);
  }
}
