import assert from "node:assert/strict";
import {
  formatLinkGroup,
  logTime,
  parseLinkGroup,
  runSetAlternative,
  setAlternative,
  UPDATE_ALTERNATIVES,
} from "./alternatives.ts";

/** iptables' link group as Debian 12 installs it (auto mode, nft the best choice). */
const IPTABLES_ADMIN = [
  "auto",
  "/usr/sbin/iptables",
  "iptables-restore",
  "/usr/sbin/iptables-restore",
  "iptables-save",
  "/usr/sbin/iptables-save",
  "",
  "/usr/sbin/iptables-legacy",
  "10",
  "/usr/sbin/iptables-legacy-restore",
  "/usr/sbin/iptables-legacy-save",
  "/usr/sbin/iptables-nft",
  "20",
  "/usr/sbin/iptables-nft-restore",
  "/usr/sbin/iptables-nft-save",
  "",
  "",
].join("\n");

/** A root with iptables' programs, links and administrative file, pointing at `mode`. */
function nodeRoot(options: { status?: "auto" | "manual"; mode?: "nft" | "legacy" } = {}): string {
  const { status = "auto", mode = "nft" } = options;
  const root = Deno.makeTempDirSync({ prefix: "alternatives-" });
  for (const dir of ["/usr/sbin", "/etc/alternatives", "/var/lib/dpkg/alternatives", "/var/log"]) {
    Deno.mkdirSync(`${root}${dir}`, { recursive: true });
  }
  for (const backend of ["nft", "legacy"]) {
    Deno.writeTextFileSync(`${root}/usr/sbin/xtables-${backend}-multi`, "#!/bin/sh\n", {
      mode: 0o755,
    });
    for (const suffix of ["", "-restore", "-save"]) {
      Deno.symlinkSync(`xtables-${backend}-multi`, `${root}/usr/sbin/iptables-${backend}${suffix}`);
    }
  }
  for (const suffix of ["", "-restore", "-save"]) {
    Deno.symlinkSync(`/etc/alternatives/iptables${suffix}`, `${root}/usr/sbin/iptables${suffix}`);
    Deno.symlinkSync(
      `/usr/sbin/iptables-${mode}${suffix}`,
      `${root}/etc/alternatives/iptables${suffix}`,
    );
  }
  Deno.writeTextFileSync(
    `${root}/var/lib/dpkg/alternatives/iptables`,
    IPTABLES_ADMIN.replace(/^auto/, status),
  );
  return root;
}

/** Every path under `root` with its link target or its text, sorted. */
function tree(root: string, dir = ""): string[] {
  const entries: string[] = [];
  for (const entry of Deno.readDirSync(`${root}${dir}`)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isSymlink) entries.push(`${path} -> ${Deno.readLinkSync(`${root}${path}`)}`);
    else if (entry.isDirectory) entries.push(...tree(root, path));
    else {
      const mode = (Deno.statSync(`${root}${path}`).mode ?? 0) & 0o7777;
      const text = path === "/var/log/alternatives.log"
        ? logLines(Deno.readTextFileSync(`${root}${path}`), root).join("|")
        : Deno.readTextFileSync(`${root}${path}`);
      entries.push(`${path} ${mode.toString(8)} ${JSON.stringify(text)}`);
    }
  }
  return entries.sort();
}

/** The log's lines without their time and without the program's `--root DIR`. */
function logLines(log: string, root: string): string[] {
  return log.split("\n").filter(Boolean).map((line) =>
    line.replace(/^update-alternatives \d{4}-\d\d-\d\d \d\d:\d\d:\d\d: /, "")
      .replace(`--root ${root} `, "")
  );
}

const PROGRAM = (() => {
  try {
    return Deno.statSync(UPDATE_ALTERNATIVES).isFile ? UPDATE_ALTERNATIVES : undefined;
  } catch {
    return undefined;
  }
})();

const CASES = [
  { status: "auto", mode: "nft", set: "nft" },
  { status: "auto", mode: "nft", set: "legacy" },
  { status: "manual", mode: "legacy", set: "nft" },
  { status: "manual", mode: "nft", set: "nft" },
] as const;

for (const { status, mode, set } of CASES) {
  Deno.test({
    name:
      `setAlternative() leaves the links, files, log and output update-alternatives leaves: ${status} ${mode}, --set ${set}, twice`,
    ignore: PROGRAM === undefined, // dpkg's update-alternatives is not installed here
    fn() {
      const theirs = nodeRoot({ status, mode });
      const ours = nodeRoot({ status, mode });
      try {
        const path = `/usr/sbin/iptables-${set}`;
        for (let run = 0; run < 2; run++) {
          const program = new Deno.Command(PROGRAM!, {
            args: ["--root", theirs, "--set", "iptables", path],
          }).outputSync();
          assert.equal(program.code, 0, new TextDecoder().decode(program.stderr));
          const printed = setAlternative("iptables", path, { root: ours });
          assert.equal(printed, new TextDecoder().decode(program.stdout));
          assert.deepEqual(tree(ours), tree(theirs));
        }
      } finally {
        Deno.removeSync(theirs, { recursive: true });
        Deno.removeSync(ours, { recursive: true });
      }
    },
  });
}

Deno.test("setAlternative() changes nothing and leaves the program to run when the group is not in order", () => {
  const broken: [string, (root: string) => void][] = [
    ["a choice is missing", (root) => Deno.removeSync(`${root}/usr/sbin/iptables-legacy`)],
    ["a slave link is a file", (root) => {
      Deno.removeSync(`${root}/usr/sbin/iptables-save`);
      Deno.writeTextFileSync(`${root}/usr/sbin/iptables-save`, "");
    }],
    ["a link in /etc/alternatives points elsewhere", (root) => {
      Deno.removeSync(`${root}/etc/alternatives/iptables-restore`);
      Deno.symlinkSync(
        "/usr/sbin/iptables-legacy-restore",
        `${root}/etc/alternatives/iptables-restore`,
      );
    }],
    ["there is no /var/log", (root) => Deno.removeSync(`${root}/var/log`)],
    [
      "the administrative file is not the program's",
      (root) =>
        Deno.writeTextFileSync(
          `${root}/var/lib/dpkg/alternatives/iptables`,
          "auto\n/usr/sbin/iptables\n",
        ),
    ],
  ];
  for (const [why, breakIt] of broken) {
    const root = nodeRoot();
    try {
      breakIt(root);
      const before = tree(root);
      assert.equal(
        setAlternative("iptables", "/usr/sbin/iptables-legacy", { root }),
        undefined,
        why,
      );
      assert.deepEqual(tree(root), before, why);
    } finally {
      Deno.removeSync(root, { recursive: true });
    }
  }
});

Deno.test("runSetAlternative() answers for dpkg's update-alternatives --set only, its stdout as asked", async () => {
  const root = nodeRoot();
  const out: string[] = [];
  const streams = {
    stdout: (bytes: Uint8Array) => out.push(new TextDecoder().decode(bytes)),
    stderr: () => {},
  };
  const dpkg = () => UPDATE_ALTERNATIVES;
  const set = ["update-alternatives", "--set", "iptables", "/usr/sbin/iptables-legacy"];
  try {
    assert.equal(
      runSetAlternative(set, { root, which: () => "/sbx/wrap/update-alternatives" }),
      undefined,
    );
    assert.equal(runSetAlternative([...set, "x"], { root, which: dpkg }), undefined);
    assert.equal(
      runSetAlternative(["update-alternatives", "--auto", "iptables"], { root, which: dpkg }),
      undefined,
    );
    const result = await runSetAlternative(set, { root, which: dpkg, streams, stdout: "forward" });
    assert.deepEqual(result, { argv: set, status: 0, stdout: "", stderr: "", timedOut: false });
    assert.deepEqual(out, [
      "update-alternatives: using /usr/sbin/iptables-legacy to provide /usr/sbin/iptables (iptables) in manual mode\n",
    ]);
    const again = await runSetAlternative(set, { root, which: dpkg, streams, stdout: "capture" });
    assert.equal(again?.stdout, "");
    assert.equal(out.length, 1);
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

Deno.test("parseLinkGroup() reads the program's administrative file and formatLinkGroup() writes it back", () => {
  const group = parseLinkGroup(IPTABLES_ADMIN)!;
  assert.equal(group.status, "auto");
  assert.deepEqual(group.slaves.map((s) => s.name), ["iptables-restore", "iptables-save"]);
  assert.deepEqual(group.choices.map((c) => [c.path, c.priority]), [
    ["/usr/sbin/iptables-legacy", "10"],
    ["/usr/sbin/iptables-nft", "20"],
  ]);
  assert.equal(formatLinkGroup(group), IPTABLES_ADMIN);
  assert.equal(parseLinkGroup(IPTABLES_ADMIN.replace("\n20\n", "\ntwenty\n")), undefined);
  assert.equal(parseLinkGroup(IPTABLES_ADMIN.trimEnd()), undefined);
});

Deno.test("logTime() is the local date and time to the second", () => {
  assert.equal(logTime(new Date(2026, 0, 2, 3, 4, 5)), "2026-01-02 03:04:05");
});
