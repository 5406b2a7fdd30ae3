/**
 * containerd's snapshotter: overlayfs unless the node's storage or user namespace calls for
 * another one, chosen here and written into /etc/containerd/config.toml before systemd starts.
 */
import { EntrypointError } from "../errors.ts";
import type {
  Announcements,
  CommandChanges,
  Commands,
  Environment,
  FileQueries,
  Files,
  Log,
  MountChanges,
  Mounts,
  Trials,
} from "../host/host.ts";
import { replaceFirstPerLine } from "../host/proc.ts";
import { filesystemType } from "./filesystem.ts";

export const CONTAINERD_CONFIG = "/etc/containerd/config.toml";
export const OVERLAY_USERNS_PARAMETER = "/sys/module/overlay/parameters/permit_mounts_in_userns";
export const SELINUX_LABEL = "/proc/self/attr/current";

/** What decides the snapshotter. */
export interface SnapshotterInputs {
  /** `KIND_EXPERIMENTAL_CONTAINERD_SNAPSHOTTER`; unset and empty both mean "choose". */
  override: string | undefined;
  /** Filesystem type of /kind as `stat -f -c %T` names it. */
  filesystem: string;
  userns: boolean;
}

/**
 * The snapshotter to switch to, or undefined to keep the image's overlayfs. `overlayfsWorks`
 * is asked only when its answer matters (it mounts a trial overlay).
 */
export async function chooseSnapshotter(
  inputs: SnapshotterInputs,
  overlayfsWorks: () => Promise<boolean>,
): Promise<string | undefined> {
  if (inputs.override) return inputs.override;
  // zfs: the zfs snapshotter would have to match the host's zfs, so take the plain one.
  if (inputs.filesystem === "zfs") return "native";
  if (inputs.filesystem === "fuseblk") return "fuse-overlayfs";
  if (inputs.userns && !(await overlayfsWorks())) return "fuse-overlayfs";
  return undefined;
}

/**
 * True for a name that can stand in config.toml's `snapshotter = "..."` as it is: every
 * containerd snapshotter plugin is named so (overlayfs, native, fuse-overlayfs, stargz, zfs,
 * btrfs, devmapper, erofs). A quote, backslash or line break would break or extend the TOML.
 */
export function isSnapshotterName(name: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name);
}

/** True when an SELinux label such as `system_u:system_r:container_t:s0` is in effect. */
export function hasSelinuxType(label: string): boolean {
  return label.includes("_t:");
}

/** config.toml with the rootless OOM score setting turned on (kind's first sed). */
export function enableRestrictOomScoreAdj(config: string): string {
  return replaceFirstPerLine(
    config,
    "restrict_oom_score_adj = false",
    "restrict_oom_score_adj = true",
  );
}

/**
 * config.toml with the overlayfs snapshotter replaced (kind's second sed). The name is inserted
 * literally (the caller has checked it with `isSnapshotterName`).
 */
export function replaceSnapshotter(config: string, snapshotter: string): string {
  return replaceFirstPerLine(
    config,
    'snapshotter = "overlayfs"',
    `snapshotter = "${snapshotter}"`,
  );
}

type ContainerdHost = Files & Commands & Mounts & Environment & Log & Announcements & Trials;

/** kind's `configure_containerd`. */
export async function configureContainerd(
  host: ContainerdHost,
  context: { userns: boolean },
): Promise<void> {
  const override = host.env("KIND_EXPERIMENTAL_CONTAINERD_SNAPSHOTTER");
  if (override && !isSnapshotterName(override)) {
    throw new EntrypointError(
      `KIND_EXPERIMENTAL_CONTAINERD_SNAPSHOTTER must be a snapshotter name (letters, digits, ".", "_", "-"), got ${
        JSON.stringify(override)
      }; ${CONTAINERD_CONFIG} was left as it was`,
    );
  }
  const snapshotter = await chooseSnapshotter(
    {
      override,
      filesystem: override ? "" : await filesystemType(host, "/kind"),
      userns: context.userns,
    },
    () => overlayfsPreferable(host),
  );

  if (context.userns) editConfig(host, enableRestrictOomScoreAdj);
  if (snapshotter === undefined) return;
  host.announce(`changing snapshotter from "overlayfs" to "${snapshotter}"`);
  editConfig(host, (config) => replaceSnapshotter(config, snapshotter));
  if (snapshotter === "fuse-overlayfs") {
    host.announce("enabling containerd-fuse-overlayfs service");
    await host.run(["systemctl", "enable", "containerd-fuse-overlayfs"], { stdout: "forward" });
  }
}

/**
 * `sed -i` of config.toml in one read and one atomic write. sed's statuses are kept: 2 when the
 * file cannot be read, 4 when it cannot be written.
 */
function editConfig(
  host: Files,
  edit: (config: string) => string,
): void {
  let config: string;
  try {
    config = host.readText(CONTAINERD_CONFIG);
  } catch (error) {
    throw new EntrypointError((error as Error).message, { exitCode: 2, cause: error });
  }
  try {
    host.writeText(CONTAINERD_CONFIG, edit(config), { atomic: true });
  } catch (error) {
    throw new EntrypointError((error as Error).message, { exitCode: 4, cause: error });
  }
}

/**
 * kind's `overlayfs_preferrable`, asked only in a user namespace: false when the kernel's
 * overlayfs in user namespaces is known to be unstable or a trial overlay mount fails. The trial
 * changes the node for a moment, so a dry run does not make it (see `Trials`): it goes on as if
 * the mount worked and lists the question in its plan.
 */
export async function overlayfsPreferable(
  host: FileQueries & CommandChanges & MountChanges & Log & Trials,
): Promise<boolean> {
  if (host.kind(OVERLAY_USERNS_PARAMETER) !== undefined) {
    host.log(
      "INFO",
      "UserNS: kernel seems supporting overlayfs with permit_mounts_in_userns, but avoiding due to instability.",
    );
    return false;
  }
  const supported = await host.trial({
    question: "whether overlayfs can be mounted in this user namespace (kind tries a trial mount)",
    perform: () => trialOverlayMount(host),
    assumed: true,
    assumption: "it can, so containerd keeps the overlayfs snapshotter",
  });
  if (!supported) return false;

  let label = "";
  try {
    label = host.readText(SELINUX_LABEL);
  } catch { /* no LSM label: nothing to warn about */ }
  if (hasSelinuxType(label)) {
    host.log(
      "WARN",
      "UserNS: SELinux might be Enforcing. If you see an error related to overlayfs, try setting `KIND_EXPERIMENTAL_CONTAINERD_SNAPSHOTTER=fuse-overlayfs` .",
    );
  }
  return true;
}

/**
 * kind's trial: an overlay mounted in a fresh temporary directory, unmounted and removed again.
 * kind's bash runs it where errexit does not apply, so failures after mktemp are tolerated.
 */
async function trialOverlayMount(
  host: CommandChanges & MountChanges & Log,
): Promise<boolean> {
  const { stdout } = await host.run(["mktemp", "-d"]);
  const tmp = stdout.replace(/\n+$/, "");
  const dir = (name: string) => `${tmp}/${name}`;
  // A failure here makes the trial mount fail, which is the answer kind's bash gives too.
  await host.run(["mkdir", "-p", dir("l"), dir("u"), dir("w"), dir("m")], { nothrow: true });
  const trial = await host.mount(
    { op: "overlay", lower: dir("l"), upper: dir("u"), work: dir("w"), target: dir("m") },
    { nothrow: true },
  );
  const supported = trial.status === 0;
  if (!supported) host.log("INFO", "UserNS: kernel does not seem to support overlayfs.");
  else await host.mount({ op: "umount", target: dir("m") }, { nothrow: true });
  await host.run(["rm", "-rf", tmp], { nothrow: true });
  return supported;
}
