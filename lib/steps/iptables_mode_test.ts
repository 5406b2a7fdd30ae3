import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { EntrypointError } from "../errors.ts";
import type { QueryArgv, QueryOptions, RunOptions, RunResult } from "../host/host.ts";
import {
  alternativesCommands,
  chooseIptablesMode,
  countRuleLines,
  legacyDumpIsEmpty,
  selectedDump,
  selectIptables,
} from "./iptables_mode.ts";
import { type FakeCommand, FakeHost, type FakeHostOptions } from "../host/fake.ts";

const fixture = (name: string) =>
  readFileSync(new URL(`../../test/testdata/iptables_mode/${name}`, import.meta.url), "utf8");
/** Docker's embedded DNS rules, as iptables-nft-save prints them. */
const DOCKER_NAT = readFileSync(
  new URL("../../test/testdata/iptables/docker.rules", import.meta.url),
  "utf8",
);

/** A FakeHost that also keeps the options of each command. */
class OptionsHost extends FakeHost {
  readonly runOptions: RunOptions[] = [];
  constructor(options: FakeHostOptions) {
    super(options);
  }
  override query(argv: QueryArgv, options: QueryOptions = {}) {
    this.runOptions.push(options);
    return super.query(argv, options);
  }
  override run(argv: readonly string[], options: RunOptions = {}) {
    this.runOptions.push(options);
    return super.run(argv, options);
  }
}

function node(
  dumps: { legacy?: FakeCommand; legacy6?: FakeCommand; nft?: FakeCommand; nft6?: FakeCommand },
) {
  return new OptionsHost({
    commands: {
      // a dump not given fails as one without its kernel modules does (not "not found")
      "iptables-legacy-save": dumps.legacy ?? { status: 1 },
      "ip6tables-legacy-save": dumps.legacy6 ?? { status: 1 },
      "iptables-nft-save": dumps.nft ?? { status: 1 },
      "ip6tables-nft-save": dumps.nft6 ?? { status: 1 },
      "update-alternatives": { stdout: "" },
    },
  });
}

Deno.test("countRuleLines() counts lines starting with -, like grep -c '^-'", () => {
  const cases: [string, number][] = [
    [DOCKER_NAT, 6],
    [fixture("empty-filter.save"), 0],
    ["", 0],
    ["-A X\n-A Y", 2],
    [" -A X\n#-A\n", 0],
  ];
  for (const [text, count] of cases) assert.equal(countRuleLines(text), count);
});

Deno.test("chooseIptablesMode() picks the backend with more rules, on a tie nft if it answered", () => {
  const cases: [number, number, boolean, string][] = [
    [0, 0, true, "nft"],
    [6, 6, true, "nft"],
    [0, 0, false, "legacy"],
    [6, 6, false, "legacy"],
    [7, 6, true, "legacy"],
    [7, 6, false, "legacy"],
    [0, 1, true, "nft"],
    [0, 1, false, "nft"],
  ];
  for (const [legacy, nft, answered, mode] of cases) {
    assert.equal(
      chooseIptablesMode({ legacy, nft }, answered),
      mode,
      `${legacy} vs ${nft}, nft answered: ${answered}`,
    );
  }
});

Deno.test("alternativesCommands() switches iptables, then ip6tables", () => {
  assert.deepEqual(alternativesCommands("nft"), [
    ["update-alternatives", "--set", "iptables", "/usr/sbin/iptables-nft"],
    ["update-alternatives", "--set", "ip6tables", "/usr/sbin/ip6tables-nft"],
  ]);
});

Deno.test("selectIptables() dumps both backends, then switches to the one with Docker's rules", async () => {
  const host = node({
    legacy: { stdout: fixture("empty-filter.save") },
    legacy6: { stdout: fixture("empty-filter.save") },
    nft: { stdout: DOCKER_NAT + fixture("empty-filter.save") },
  });
  await selectIptables(host);
  assert.deepEqual(host.events, [
    { type: "run", argv: ["iptables-legacy-save"] },
    { type: "run", argv: ["ip6tables-legacy-save"] },
    { type: "run", argv: ["iptables-nft-save"] },
    { type: "run", argv: ["ip6tables-nft-save"] },
    { type: "log", level: "INFO", message: "setting iptables to detected mode: nft" },
    { type: "run", argv: ["update-alternatives", "--set", "iptables", "/usr/sbin/iptables-nft"] },
    {
      type: "run",
      argv: ["update-alternatives", "--set", "ip6tables", "/usr/sbin/ip6tables-nft"],
    },
  ]);
  const dump = { nothrow: true, stderr: "capture" };
  const nft = { ...dump, timeoutMs: 5000, startsNoPrograms: true };
  assert.deepEqual(host.runOptions, [dump, dump, nft, nft, { stdout: "ignore" }, {
    stdout: "ignore",
  }]);
});

Deno.test("selectIptables() counts the rules of both legacy dumps together", async () => {
  const host = node({
    legacy: { stdout: "-A X\n" },
    legacy6: { stdout: "-A Y\n" },
    nft: { stdout: "-A X\n" },
  });
  await selectIptables(host);
  assert.deepEqual(host.logs, ["INFO: setting iptables to detected mode: legacy"]);
});

Deno.test("selectIptables() picks nft on a 0-0 tie when iptables-nft-save works, as on podman", async () => {
  const empty = { stdout: fixture("empty-filter.save") };
  const host = node({ legacy: empty, legacy6: empty, nft: empty, nft6: empty });
  await selectIptables(host);
  assert.deepEqual(host.logs, ["INFO: setting iptables to detected mode: nft"]);
});

Deno.test("selectIptables() picks legacy on a 0-0 tie when iptables-nft-save fails (no nf_tables)", async () => {
  const host = node({ nft: { status: 1 } });
  await selectIptables(host);
  assert.deepEqual(host.logs, ["INFO: setting iptables to detected mode: legacy"]);
});

Deno.test("selectIptables() counts what the nft dump printed before it failed or timed out", async () => {
  const host = node({
    nft: { timedOut: true, stdout: DOCKER_NAT },
    nft6: { status: 1 },
  });
  await selectIptables(host);
  assert.deepEqual(host.logs, ["INFO: setting iptables to detected mode: nft"]);
});

Deno.test("selectIptables() stops with update-alternatives' status when it fails", async () => {
  const host = new FakeHost({ commands: { "update-alternatives": { status: 2 } } });
  await assert.rejects(selectIptables(host), (error: unknown) => {
    assert.ok(error instanceof EntrypointError);
    assert.equal(error.exitCode, 2);
    assert.match(error.message, /update-alternatives --set iptables \/usr\/sbin\/iptables-legacy/);
    return true;
  });
});

Deno.test("selectIptables() says which dump tool could not be run", async () => {
  const host = node({ legacy: { status: 127 }, legacy6: {}, nft: { status: 127 } });
  await selectIptables(host);
  assert.deepEqual(host.logs, [
    "WARN: iptables-legacy-save could not be run (not in PATH); counting its rules as none",
    "WARN: iptables-nft-save could not be run (not in PATH); counting its rules as none",
    "INFO: setting iptables to detected mode: legacy",
  ]);
});

Deno.test("selectIptables() does not start a legacy dump when this netns has no legacy table", async () => {
  const executables = Object.fromEntries(
    ["iptables-legacy-save", "ip6tables-legacy-save"].map((t) => [t, `/usr/sbin/${t}`]),
  );
  const host = new FakeHost({
    executables,
    // IPv4 legacy tables listed, IPv6's list empty
    files: { "/proc/net/ip_tables_names": "nat\n", "/proc/net/ip6_tables_names": "" },
    commands: {
      "iptables-legacy-save": { stdout: "-A X\n" },
      "iptables-nft-save": { stdout: DOCKER_NAT },
      "ip6tables-nft-save": { stdout: "" },
      "update-alternatives": {},
    },
  });
  await selectIptables(host);
  const runs = host.events.flatMap((e) => e.type === "run" ? [e.argv[0]] : []);
  assert.deepEqual(runs.slice(0, 3), [
    "iptables-legacy-save",
    "iptables-nft-save",
    "ip6tables-nft-save",
  ]);
  assert.deepEqual(host.logs, ["INFO: setting iptables to detected mode: nft"]);
});

Deno.test("legacyDumpIsEmpty() is true for a missing or empty table list, false for a listed table", () => {
  const host = new FakeHost({ files: { "/proc/net/ip_tables_names": "filter\n" } });
  assert.equal(legacyDumpIsEmpty(host, "iptables-legacy-save"), false);
  assert.equal(legacyDumpIsEmpty(host, "ip6tables-legacy-save"), true);
  assert.equal(legacyDumpIsEmpty(host, "iptables-nft-save"), false);
  const empty = new FakeHost({ files: { "/proc/net/ip6_tables_names": "\n" } });
  assert.equal(legacyDumpIsEmpty(empty, "ip6tables-legacy-save"), true);
});

Deno.test("selectedDump() hands on the chosen backend's IPv4 dump only when it is clean", () => {
  const ok = (stdout: string, rest: Partial<RunResult> = {}): RunResult => ({
    argv: [],
    status: 0,
    stdout,
    stderr: "",
    timedOut: false,
    ...rest,
  });
  const nft = ok("*nat\nCOMMIT\n");
  const results = [ok(""), ok(""), nft, ok("")];
  assert.equal(selectedDump(results, "nft"), nft);
  assert.equal(selectedDump(results, "legacy"), undefined, "an empty dump: run iptables-save");
  const warned = ok("*nat\nCOMMIT\n", { stderr: "# Warning: iptables-legacy tables present\n" });
  assert.equal(selectedDump([ok(""), ok(""), warned, ok("")], "nft"), undefined);
  assert.equal(
    selectedDump([ok(""), ok(""), ok("x", { timedOut: true }), ok("")], "nft"),
    undefined,
  );
  assert.equal(selectedDump([ok(""), ok(""), ok("x", { status: 1 }), ok("")], "nft"), undefined);
});
