/**
 * What the image's launcher (images/entrypoint) leaves for the entrypoint to undo before it
 * does anything else.
 *
 * Deno opens its cache databases read-write whenever it can, and SQLite then writes beside them
 * (a WAL, a shared-memory index) and into them, even when every lookup hits; on an overlay root
 * an open for writing alone copies the file up into the container's layer. Only a read-only
 * file system makes SQLite open them read-only, and root ignores file modes, so the launcher
 * bind-mounts the image's DENO_DIR read-only over itself before it starts Deno. Deno has opened
 * (and read) the databases by the time the bundle runs; the mount has done its job then and is
 * detached here, so the steps and init see the mount table the node would have without it.
 */
import { cString, lastError, loadLibc } from "../host/ffi.ts";

/** The variable in which the launcher names the directory it mounted read-only. */
export const CACHE_MOUNT_ENV = "KIND_ENTRYPOINT_CACHE_MOUNT";

/** umount2's flag for a lazy unmount: gone from the table now, open files stay usable. */
const MNT_DETACH = 2;

/**
 * Detaches the launcher's read-only mount at `target` (the checked `KIND_ENTRYPOINT_CACHE_MOUNT`),
 * if any. The caller checks the switches first and never calls this in a dry run, and the
 * launcher names only a mount it made itself (it clears any value it was given). Returns what
 * went wrong, or undefined: a mount left in place costs nothing but a line in the mount table,
 * so a failure here is reported by the caller as a warning and never stops the boot.
 */
export function releaseCacheMount(target: string | undefined): string | undefined {
  if (!target) return undefined;
  const libc = loadLibc();
  if (libc === undefined) return `Cannot detach ${target}: no FFI in this runtime`;
  if (libc.umount2(cString(target), MNT_DETACH) === 0) return undefined;
  const error = lastError(libc);
  return `umount2("${target}", MNT_DETACH) failed: ${error.text} (${error.name})`;
}
