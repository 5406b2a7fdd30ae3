/**
 * The mutants of `npm run mutate` (scripts/mutate.ts): each one search/replace in a module of
 * lib/, chosen where a wrong change matters (exit statuses, log lines, resolv.conf, the NAT rule
 * rewrite, the iptables mode, the DNS host address) and mostly in pure modules, whose code
 * changes least. A search text must occur exactly once in its file; when the code moves on, the
 * mutant is reported stale and must be updated or dropped here.
 */

/** One mutant. */
export interface Mutant {
  /** Short unique name, `module-what`. */
  id: string;
  /** The mutated module, relative to the repository. */
  file: string;
  search: string;
  replace: string;
  /** The bug it stands for. */
  why: string;
  /** Test files to run besides lib/x.ts's lib/x_test.ts. */
  tests?: string[];
  /** Why no test can kill it, for a known survivor; a survivor not marked so fails the check. */
  survives?: string;
}

export const MUTANTS: readonly Mutant[] = [
  // The NAT rule rewrite (kind's four sed substitutions).
  {
    id: "nat-prerouting-jump",
    file: "lib/dns/nat_rules.ts",
    search: "const copy = `-A PREROUTING ${jump[1]}",
    replace: "const copy = `-A POSTROUTING ${jump[1]}",
    why: "pods' DNS traffic is not hooked into PREROUTING",
  },
  {
    id: "nat-dport",
    file: "lib/dns/nat_rules.ts",
    search: "`p --dport 53 -j DNAT --to-destination ${dns}`",
    replace: "`p -j DNAT --to-destination ${dns}`",
    why: "the --dport 53 fix (kind #3054) is lost",
  },
  {
    id: "nat-snat-host",
    file: "lib/dns/nat_rules.ts",
    search: "`--to-source ${hostIp}:53`",
    replace: '"--to-source :53"',
    why: "answers are not SNATed from the host IP",
  },
  {
    id: "nat-address-boundary",
    file: "lib/dns/nat_rules.ts",
    search: 'escapeRegExp(find) + "(?![0-9])"',
    replace: "escapeRegExp(find)",
    why: "127.0.0.110 or :530 are half rewritten",
  },
  {
    id: "nat-duplicate-jump",
    file: "lib/dns/nat_rules.ts",
    search: "const duplicate = existing.has(`${table}\\n${copy}`);",
    replace: "const duplicate = false;",
    why: "a second run adds the PREROUTING jump again",
  },
  {
    id: "nat-no-commit",
    file: "lib/dns/nat_rules.ts",
    search: "if (open) throw new Error(`table ${open.name} has no COMMIT line`);",
    replace: "",
    why: "a truncated iptables-save dump is accepted",
  },
  // resolv.conf.
  {
    id: "resolv-trailing-newlines",
    file: "lib/dns/resolv_conf.ts",
    search: '.replace(/\\n+$/, "");',
    replace: ";",
    why: "trailing blank lines are kept",
  },
  {
    id: "resolv-empty-search",
    file: "lib/dns/resolv_conf.ts",
    search: 'if (input.dnsSearch === "") {',
    replace: 'if (input.dnsSearch === " ") {',
    why: 'KIND_DNS_SEARCH="" writes a bare `search` line',
  },
  {
    id: "resolv-domain-kept",
    file: "lib/dns/resolv_conf.ts",
    search: " && !/^domain(\\s|$)/.test(line)",
    replace: "",
    why: "a domain line overrides KIND_DNS_SEARCH",
  },
  {
    id: "resolv-address-boundary",
    file: "lib/dns/resolv_conf.ts",
    search: "`(?<![0-9.])${escapeRegExp(from)}(?![0-9])`",
    replace: "escapeRegExp(from)",
    why: "127.0.0.110 is half rewritten",
  },
  {
    id: "resolv-line-breaks",
    file: "lib/dns/resolv_conf.ts",
    search: 'search = search.replace(/[\\r\\n]+/g, " ");',
    replace: "",
    why: "KIND_DNS_SEARCH can add lines such as nameserver",
  },
  {
    id: "magic-original-not-saved",
    file: "lib/dns/network_magic.ts",
    search: "? [{ file: RESOLV_CONF_ORIGINAL, data: current, atomic: true }]",
    replace: "? []",
    why: "resolv.conf.original is not written",
  },
  {
    id: "magic-original-not-atomic",
    file: "lib/dns/network_magic.ts",
    search: "? [{ file: RESOLV_CONF_ORIGINAL, data: current, atomic: true }]",
    replace: "? [{ file: RESOLV_CONF_ORIGINAL, data: current }]",
    why: "a killed run can leave a partial resolv.conf.original",
  },
  {
    id: "magic-rerun-original",
    file: "lib/dns/network_magic.ts",
    search: "if (ours.ok && ours.content === current) original = saved;",
    replace: "if (ours.ok) original = saved;",
    why: "after docker restart the old resolv.conf.original wins over Docker's new file",
  },
  {
    id: "magic-restore-skipped",
    file: "lib/dns/network_magic.ts",
    search: "if (rewritten !== saved) {",
    replace: "if (rewritten === saved) {",
    why: "the rewritten rules are never restored",
  },
  // The iptables backend.
  {
    id: "mode-tie",
    file: "lib/steps/iptables_mode.ts",
    search: 'return nftAnswered ? "nft" : "legacy";',
    replace: 'return "legacy";',
    why: "a node without rules picks legacy even when nft answers",
  },
  {
    id: "mode-more-rules",
    file: "lib/steps/iptables_mode.ts",
    search: 'counts.legacy > counts.nft ? "legacy" : "nft"',
    replace: 'counts.legacy < counts.nft ? "legacy" : "nft"',
    why: "the backend with fewer rules wins",
  },
  {
    id: "mode-count-chains",
    file: "lib/steps/iptables_mode.ts",
    search: '.filter((line) => line.startsWith("-"))',
    replace: '.filter((line) => line.startsWith(":"))',
    why: "chains are counted instead of rules",
  },
  {
    id: "mode-count-appends",
    file: "lib/steps/iptables_mode.ts",
    search: '.filter((line) => line.startsWith("-"))',
    replace: '.filter((line) => line.startsWith("-A"))',
    why: "only -A lines are counted, not every line starting with -",
    survives: "equivalent: iptables-save prints every rule as an -A line, so both count the same",
  },
  {
    id: "mode-missing-tool-silent",
    file: "lib/steps/iptables_mode.ts",
    search:
      'host.log("WARN", `${tool} could not be run (not in PATH); counting its rules as none`);',
    replace: "",
    why: "a missing dump tool changes the decision without a word",
  },
  {
    id: "mode-dump-throws",
    file: "lib/steps/iptables_mode.ts",
    search: 'const dump = { nothrow: true, stderr: "capture" } as const;',
    replace: 'const dump = { stderr: "capture" } as const;',
    why: "a failing dump tool stops the boot (kind tolerates it)",
  },
  {
    id: "mode-dump-with-warning",
    file: "lib/steps/iptables_mode.ts",
    search: 'if (result.stderr !== "" || result.stdout === "") return undefined;',
    replace: 'if (result.stdout === "") return undefined;',
    why: "a dump that warned is reused and its warning lost",
  },
  {
    id: "mode-nft-bound",
    file: "lib/steps/iptables_mode.ts",
    search: "timeoutMs: NFT_SAVE_TIMEOUT_SECONDS * 1000",
    replace: "timeoutMs: NFT_SAVE_TIMEOUT_SECONDS",
    why: "the nft dumps get 5 ms instead of 5 s",
  },
  // The Docker host IP.
  {
    id: "dhip-loopback",
    file: "lib/dns/docker_host_ip.ts",
    search: "if (lookedUp && !isLoopbackIPv4(lookedUp)) {",
    replace: "if (lookedUp) {",
    why: "host.docker.internal at 127.0.0.1 is used as the host IP",
  },
  {
    id: "dhip-route-field",
    file: "lib/dns/docker_host_ip.ts",
    search: 'const field = lines[0].split(" ")[2] ?? "";',
    replace: 'const field = lines[0].split(" ")[1] ?? "";',
    why: "the gateway is read from the wrong field of the route",
  },
  {
    id: "dhip-byte-order",
    file: "lib/dns/docker_host_ip.ts",
    search: "[6, 4, 2, 0].map(",
    replace: "[0, 2, 4, 6].map(",
    why: "/proc/net/route's gateway is read big-endian",
  },
  {
    id: "dhip-gateway-flag",
    file: "lib/dns/docker_host_ip.ts",
    search: "const RTF_GATEWAY = 0x2;",
    replace: "const RTF_GATEWAY = 0x4;",
    why: "a route through a gateway is not recognised in /proc/net/route",
  },
  // Node addresses after a restart.
  {
    id: "nodeip-whole-word",
    file: "lib/dns/node_ip.ts",
    search: 'new RegExp(`\\\\b${escapeRegExp(oldIp)}\\\\b`, "g")',
    replace: 'new RegExp(escapeRegExp(oldIp), "g")',
    why: ".5 is rewritten inside .50",
  },
  {
    id: "nodeip-v4-goes-on",
    file: "lib/dns/node_ip.ts",
    search: "if (family === 4) throw new EntrypointError(message, { verbatim: true });",
    replace: "if (family === 6) throw new EntrypointError(message, { verbatim: true });",
    why: "a lost IPv4 address does not stop the boot",
  },
  {
    id: "nodeip-no-certificate",
    file: "lib/dns/node_ip.ts",
    search: "if (pending.length > 0) await fixCertificate(host);",
    replace: "",
    why: "the API server certificate keeps the old address",
  },
  {
    id: "nodeip-pair-not-restored",
    file: "lib/dns/node_ip.ts",
    search: "for (const { file, data, mode } of previous) host.writeText(file, data, { mode });",
    replace: "",
    why: "a failed kubeadm leaves no certificate at all",
  },
  // containerd.
  {
    id: "ctd-zfs",
    file: "lib/steps/containerd.ts",
    search: 'if (inputs.filesystem === "zfs") return "native";',
    replace: 'if (inputs.filesystem === "zfs") return "zfs";',
    why: "zfs nodes get the zfs snapshotter",
  },
  {
    id: "ctd-userns-oom",
    file: "lib/steps/containerd.ts",
    search: "if (context.userns) editConfig(host, enableRestrictOomScoreAdj);",
    replace: "if (!context.userns) editConfig(host, enableRestrictOomScoreAdj);",
    why: "restrict_oom_score_adj is set outside a user namespace",
  },
  {
    id: "ctd-name-anchor",
    file: "lib/steps/containerd.ts",
    search: "/^[A-Za-z0-9][A-Za-z0-9._-]*$/",
    replace: "/^[A-Za-z0-9][A-Za-z0-9._-]*/",
    why: "a snapshotter name can carry a quote into config.toml",
  },
  {
    id: "ctd-write-status",
    file: "lib/steps/containerd.ts",
    search: "{ exitCode: 4, cause: error }",
    replace: "{ exitCode: 1, cause: error }",
    why: "a failed write of config.toml loses sed's status 4",
  },
  // machine-id, DMI, proxy.
  {
    id: "machineid-kept",
    file: "lib/steps/machine_id.ts",
    search: "host.remove(MACHINE_ID);",
    replace: "",
    why: "every node keeps the image's machine-id",
  },
  {
    id: "machineid-rerun",
    file: "lib/steps/machine_id.ts",
    search: "if (context.rerun) {",
    replace: "if (!context.rerun) {",
    why: "a rerun regenerates the id systemd runs with",
  },
  {
    id: "product-writable",
    file: "lib/steps/product.ts",
    search: "readOnly: true",
    replace: "readOnly: false",
    why: "the faked DMI files are writable",
  },
  {
    id: "product-new-uuid",
    file: "lib/steps/product.ts",
    search: 'if (host.kind(KIND_PRODUCT_UUID) !== "file") {',
    replace: "{",
    why: "a restarted node gets a new product UUID",
  },
  {
    id: "proxy-order",
    file: "lib/steps/proxy.ts",
    search: '["HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"]',
    replace: '["HTTP_PROXY", "NO_PROXY", "HTTPS_PROXY"]',
    why: "the proxy variables are written in another order than kind's",
  },
  {
    id: "proxy-control-chars",
    file: "lib/steps/proxy.ts",
    search: '/[\\\\"\\x00-\\x1f\\x7f]/g',
    replace: '/[\\\\"]/g',
    why: "a line break in a proxy value adds a systemd setting",
  },
  // User namespaces.
  {
    id: "userns-nofile-bound",
    file: "lib/steps/userns.ts",
    search: "hard >= NOFILE_HARD_EXPECTED",
    replace: "hard > NOFILE_HARD_EXPECTED",
    why: "exactly 64000 open files is warned about",
  },
  {
    id: "userns-pids",
    file: "lib/steps/userns.ts",
    search: '["cpu", "memory", "pids"]',
    replace: '["cpu", "memory"]',
    why: "a node without the pids controller is accepted",
  },
  // Switches and steps.
  {
    id: "switch-timeout-zero",
    file: "lib/boot/switches.ts",
    search: "/^[1-9][0-9]{0,8}$/",
    replace: "/^[0-9]{1,9}$/",
    why: "KIND_ENTRYPOINT_COMMAND_TIMEOUT_MS=0 is taken",
  },
  {
    id: "switch-unknown-ignored",
    file: "lib/boot/switches.ts",
    search: "name.startsWith(PREFIX) && !known.includes(name)",
    replace: "false",
    why: "a misspelt KIND_ENTRYPOINT_ variable is ignored",
  },
  {
    id: "compose-twin-steps",
    file: "lib/boot/compose.ts",
    search: "if (seen.has(step.name)) throw new Error(`Two steps are named ${step.name}`);",
    replace: "",
    why: "two steps of one name are accepted",
  },
  // fix_mount.
  {
    id: "mounts-setgid",
    file: "lib/steps/mounts.ts",
    search: "SET_ID_BITS = 0o6000",
    replace: "SET_ID_BITS = 0o4000",
    why: "chmod -s keeps the setgid bit",
  },
  {
    id: "mounts-userns-remount",
    file: "lib/steps/mounts.ts",
    search: "if (!context.userns) {",
    replace: "if (context.userns) {",
    why: "a refused /sys remount stops a rootless node and passes a rootful one",
  },
  {
    id: "mounts-remount-throws",
    file: "lib/steps/mounts.ts",
    search: '{ op: "remount-ro", target: "/sys" }, { nothrow: true }',
    replace: '{ op: "remount-ro", target: "/sys" }',
    why: "a refused /sys remount stops a rootless node",
  },
  {
    id: "mounts-aufs-sync",
    file: "lib/steps/mounts.ts",
    search: 'if (mountFs === "aufs") {',
    replace: 'if (mountFs === "overlayfs") {',
    why: "sync runs on overlayfs, not on aufs",
  },
  {
    id: "mounts-unknown-mode",
    file: "lib/steps/mounts.ts",
    search:
      "if (mode === undefined) throw new Error(`Cannot read the mode of ${file}: stat failed`);",
    replace: "",
    why: "a binary whose mode cannot be read is chmod'ed to 0",
  },
  // The DNS relay's bounds against a hostile pod (lib/dns/relay/, docs/ipv6.md).
  {
    id: "relay-idle-any-byte",
    file: "lib/dns/relay/tcp.ts",
    search: "if (messages.length > 0) client.lastWhole = Date.now();",
    replace: "client.lastWhole = Date.now();",
    why: "a byte at a time keeps a TCP slot forever",
    tests: ["lib/dns/relay/server_test.ts"],
  },
  {
    id: "relay-message-deadline",
    file: "lib/dns/relay/tcp.ts",
    search: "const slow = client.messageStarted > 0 && now - client.messageStarted > messageMs;",
    replace: "const slow = false;",
    why: "half a message holds a TCP slot until the idle bound",
    tests: ["lib/dns/relay/server_test.ts"],
  },
  {
    id: "relay-in-flight-cap",
    file: "lib/dns/relay/tcp.ts",
    search: "      if (client.inFlight >= this.#settings.maxInFlight) return;\n",
    replace: "",
    why: "one TCP client's pipelined queries all go upstream at once",
    tests: ["lib/dns/relay/server_test.ts"],
  },
  {
    id: "relay-link-per-query",
    file: "lib/dns/relay/tcp.ts",
    search: "client.link ??= this.#openLink(client);",
    replace: "client.link = this.#openLink(client);",
    why: "each TCP query opens its own upstream connection",
    tests: ["lib/dns/relay/server_test.ts", "test/relay_hostile_test.ts"],
  },
  {
    id: "relay-connection-cap",
    file: "lib/dns/relay/tcp.ts",
    search: "if (this.#clients.size >= this.#settings.maxConnections && !this.#evictIdlest()) {",
    replace: "if (false) {",
    why: "TCP client connections (and upstream ones) are not capped",
    tests: ["lib/dns/relay/server_test.ts"],
  },
  {
    id: "relay-no-eviction",
    file: "lib/dns/relay/tcp.ts",
    search: "    if (!idlest) return false;",
    replace: "    return false;",
    why: "idle connections holding every slot lock new clients out",
    tests: ["lib/dns/relay/server_test.ts", "test/relay_hostile_test.ts"],
  },
  {
    id: "relay-accept-spin",
    file: "lib/dns/relay/tcp.ts",
    search: "        await sleep(backoff);\n",
    replace: "",
    why: "a failed accept (out of descriptors) is retried at once, at full CPU",
    tests: ["test/relay_hostile_test.ts"],
  },
  {
    id: "relay-udp-socket-error-thrown",
    file: "lib/dns/relay/udp.ts",
    search: '    } catch {\n      this.#stats.socketErrors++;\n      return "failed";',
    replace: "    } catch (error) {\n      throw error;",
    why: "an upstream socket that cannot be opened leaves the query unanswered",
    tests: ["test/relay_hostile_test.ts"],
  },
  {
    id: "relay-wildcard-source",
    file: "lib/dns/relay/udp.ts",
    search: "hostname: this.#settings.source,",
    replace: 'hostname: "0.0.0.0",',
    why: "upstream sockets listen on every address of the node",
    tests: ["test/relay_hostile_test.ts"],
  },
  {
    id: "relay-source-prefix",
    file: "lib/dns/relay/source.ts",
    search: "if (prefix > bestPrefix)",
    replace: "if (prefix >= 0 && bestPrefix < 0)",
    why: "the first network that holds the upstream wins, not the closest",
  },
  {
    id: "relay-frame-reader-copies",
    file: "lib/dns/relay/message.ts",
    search: "      const take = Math.min(",
    replace: "      this.#message = this.#message.slice();\n      const take = Math.min(",
    why: "FrameReader copies what it holds on every push (quadratic in small pieces)",
  },
  {
    id: "relay-diagnose-ignored",
    file: "lib/dns/relay/diagnose.ts",
    search: "  if (failed.length === 0) return judged;\n",
    replace: "  return judged;\n",
    why: "the diagnosis passes a node whose relay does not answer pods",
  },
  {
    id: "probe-ipv4-only",
    file: "lib/dns/sockets.ts",
    search:
      'return address.includes(":") ? sockaddrIn6(address, port) : sockaddrIn(address, port);',
    replace: "return sockaddrIn(address, port);",
    why: "the diagnosis cannot probe the relay's IPv6 address",
    tests: ["lib/dns/relay/diagnose_test.ts"],
  },
  // The run as a whole: statuses, log lines, the dry run.
  {
    id: "main-exec-status",
    file: "lib/boot/run.ts",
    search: "{ exitCode: EXIT_CANNOT_EXECUTE }",
    replace: "{ exitCode: 1 }",
    why: "a runtime that cannot exec exits 1, not bash's 126",
    tests: ["lib/host/exec_test.ts"],
  },
  {
    id: "main-step-status",
    file: "lib/boot/run.ts",
    search: "    return error.exitCode;",
    replace: "    return 1;",
    why: "a failed command's status is not the exit status",
  },
  {
    id: "main-unexpected-status",
    file: "lib/boot/run.ts",
    search: "Unexpected failure: ${detail}`);\n  return 1;",
    replace: "Unexpected failure: ${detail}`);\n  return 0;",
    why: "an unexpected failure exits 0",
  },
  {
    id: "main-starting-init",
    file: "lib/boot/run.ts",
    search: 'host.announce("starting init");',
    replace: 'host.announce("starting");',
    why: "the last log line differs from kind's",
  },
  {
    id: "main-partial-boot-marked",
    file: "lib/boot/run.ts",
    search: "if (!only) markBoot(host, boot.boot);",
    replace: "markBoot(host, boot.boot);",
    why: "a run of some steps counts as a whole boot",
  },
  {
    id: "dryrun-count",
    file: "lib/boot/dry_run.ts",
    search: 'n === 1 ? "1 change" : `${n} changes`',
    replace: "`${n} changes`",
    why: "the plan's header says 1 changes",
  },
  {
    id: "dryrun-intention",
    file: "lib/host/dry_run.ts",
    search: "const out = first ? `would ${base}` : base;",
    replace: "const out = `would ${base}`;",
    why: "every verb of an announcement reads `would`",
  },
  {
    id: "dryrun-shell-quote",
    file: "lib/host/dry_run.ts",
    search: "word.replace(/'/g, `'\\\\''`)",
    replace: "word",
    why: "a quote in a planned command breaks its shell quoting",
  },
  {
    id: "diff-context",
    file: "lib/host/diff.ts",
    search: "const context = 3;",
    replace: "const context = 2;",
    why: "the plan's diffs have 2 lines of context, not 3",
    tests: ["lib/host/dry_run_test.ts"],
  },
];
