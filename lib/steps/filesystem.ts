/** The filesystem type of a path, as the steps that branch on it (containerd, mount) ask it. */
import type { CommandQueries, MountQueries } from "../host/host.ts";

/**
 * The filesystem type of `path` as `stat -f -c %T` prints it. coreutils names types by their
 * statfs magic (every FUSE mount is `fuseblk`), which /proc/self/mountinfo does not tell, so
 * the program itself is asked. A failure (such as a missing /kind) fails the step, as in kind's
 * bash, unless `nothrow`, which answers "".
 */
export async function filesystemType(
  host: CommandQueries & MountQueries,
  path: string,
  options: { nothrow?: boolean } = {},
): Promise<string> {
  // statfs(2) in-process when the host knows coreutils' name for the type; `stat` otherwise.
  const known = host.filesystemName(path);
  if (known !== undefined) return known;
  const result = await host.query(["stat", "-f", "-c", "%T", path], { nothrow: options.nothrow });
  return result.status === 0 ? result.stdout.replace(/\n+$/, "") : "";
}
