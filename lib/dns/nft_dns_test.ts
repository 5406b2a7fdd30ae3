import assert from "node:assert/strict";
import { CommandError } from "../errors.ts";
import {
  nftDockerDnsScript,
  parseNftTable,
  renderNftTable,
  rewriteNftDockerDns,
  rewriteNftRule,
} from "./nft_dns.ts";
import { FakeHost } from "../host/fake.ts";

const HOST = "172.30.0.1";

/** `nft list table ip docker-dns` in a container of Docker 29 with `--firewall-backend=nftables`. */
const DOCKER_TABLE = Deno.readTextFileSync(
  new URL("../../test/testdata/iptables/docker-dns-listed.nft", import.meta.url),
);

const DOCKER_TABLE_SCRIPT = Deno.readTextFileSync(
  new URL("../../test/testdata/iptables/docker-dns-script.nft", import.meta.url),
);

/** What nft 1.0.6 lists after applying DOCKER_TABLE_SCRIPT and one pod query over UDP. */
const REWRITTEN_TABLE = Deno.readTextFileSync(
  new URL("../../test/testdata/iptables/docker-dns-rewritten-listed.nft", import.meta.url),
);

Deno.test("nftDockerDnsScript() rewrites Docker's table and adds a prerouting chain", () => {
  assert.equal(nftDockerDnsScript(DOCKER_TABLE, HOST), DOCKER_TABLE_SCRIPT);
});

Deno.test("nftDockerDnsScript() finds nothing to change in its own applied output", () => {
  assert.equal(nftDockerDnsScript(REWRITTEN_TABLE, HOST), undefined);
});

Deno.test("nftDockerDnsScript() is a fixed point: the table part of its script needs no script", () => {
  const table = DOCKER_TABLE_SCRIPT.slice(DOCKER_TABLE_SCRIPT.indexOf("\n") + 1);
  assert.equal(nftDockerDnsScript(table, HOST), undefined);
});

const scriptCases: Array<{ name: string; listing: string; expected: string | undefined }> = [
  {
    name: "refills a stale prerouting chain, keeping counters of rules that stay",
    listing: `table ip docker-dns {
	chain dns-dnat {
		type nat hook output priority -100; policy accept;
		ip daddr 172.30.0.1 udp dport 53 counter packets 9 bytes 9 dnat to 127.0.0.11:45927
		ip daddr 172.30.0.1 tcp dport 53 counter packets 0 bytes 0 dnat to 127.0.0.11:40000
	}

	chain dns-dnat-prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		ip daddr 172.30.0.1 udp dport 53 counter packets 5 bytes 350 dnat to 127.0.0.11:45927
		ip daddr 172.30.0.1 tcp dport 53 counter packets 2 bytes 120 dnat to 127.0.0.11:37619
	}
}
`,
    expected: `flush table ip docker-dns
table ip docker-dns {
	chain dns-dnat {
		type nat hook output priority -100; policy accept;
		ip daddr 172.30.0.1 udp dport 53 counter packets 9 bytes 9 dnat to 127.0.0.11:45927
		ip daddr 172.30.0.1 tcp dport 53 counter packets 0 bytes 0 dnat to 127.0.0.11:40000
	}

	chain dns-dnat-prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		ip daddr 172.30.0.1 udp dport 53 counter packets 5 bytes 350 dnat to 127.0.0.11:45927
		ip daddr 172.30.0.1 tcp dport 53 counter dnat to 127.0.0.11:40000
	}
}
`,
  },
  {
    name: "adds no prerouting chain when Docker's DNAT chain is empty",
    listing: `table ip docker-dns {
	chain dns-dnat {
		type nat hook output priority -100; policy accept;
	}

	chain dns-snat {
		type nat hook postrouting priority srcnat; policy accept;
		ip saddr 127.0.0.11 udp sport 45927 counter packets 0 bytes 0 snat to :53
	}
}
`,
    expected: `flush table ip docker-dns
table ip docker-dns {
	chain dns-dnat {
		type nat hook output priority -100; policy accept;
	}

	chain dns-snat {
		type nat hook postrouting priority srcnat; policy accept;
		ip saddr 127.0.0.11 udp sport 45927 counter packets 0 bytes 0 snat to 172.30.0.1:53
	}
}
`,
  },
  {
    name: "keeps table attributes, comments and unknown chains verbatim",
    listing: `table ip docker-dns {
	comment "made by hand"

	chain dns-dnat {
		type nat hook output priority -100; policy accept;
		comment "dns"
		ip daddr 127.0.0.11 udp dport 53 counter packets 0 bytes 0 dnat to 127.0.0.11:45927
	}

	chain audit {
		ip saddr 10.0.0.0/8 counter packets 0 bytes 0
	}
}
`,
    expected: `flush table ip docker-dns
table ip docker-dns {
	comment "made by hand"

	chain dns-dnat {
		type nat hook output priority -100; policy accept;
		comment "dns"
		ip daddr 172.30.0.1 udp dport 53 counter packets 0 bytes 0 dnat to 127.0.0.11:45927
	}

	chain audit {
		ip saddr 10.0.0.0/8 counter packets 0 bytes 0
	}

	chain dns-dnat-prerouting {
		type nat hook prerouting priority -100; policy accept;
		ip daddr 172.30.0.1 udp dport 53 counter dnat to 127.0.0.11:45927
	}
}
`,
  },
  {
    name: "finds nothing to change in a table without Docker's rules",
    listing: `table ip docker-dns {
	chain dns-dnat {
		type nat hook output priority -100; policy accept;
	}
}
`,
    expected: undefined,
  },
];

for (const { name, listing, expected } of scriptCases) {
  Deno.test(`nftDockerDnsScript() ${name}`, () => {
    assert.equal(nftDockerDnsScript(listing, HOST), expected);
  });
}

const ruleCases: Array<{ name: string; input: string; expected: string }> = [
  {
    name: "moves a DNAT match from 127.0.0.11 to the host IP",
    input: "ip daddr 127.0.0.11 udp dport 53 counter packets 0 bytes 0 dnat to 127.0.0.11:45927",
    expected: "ip daddr 172.30.0.1 udp dport 53 counter packets 0 bytes 0 dnat to 127.0.0.11:45927",
  },
  {
    name: "gives the SNAT the host IP as source",
    input: "ip saddr 127.0.0.11 tcp sport 37619 counter packets 0 bytes 0 snat to :53",
    expected: "ip saddr 127.0.0.11 tcp sport 37619 counter packets 0 bytes 0 snat to 172.30.0.1:53",
  },
  {
    name: "adds dport 53 to a tcp DNAT that matches only the protocol (kind #3054)",
    input:
      "ip daddr 127.0.0.11 meta l4proto tcp counter packets 0 bytes 0 dnat to 127.0.0.11:46739",
    expected: "ip daddr 172.30.0.1 tcp dport 53 counter packets 0 bytes 0 dnat to 127.0.0.11:46739",
  },
  {
    name: "adds dport 53 to a udp DNAT written with ip protocol",
    input: "ip daddr 127.0.0.11 ip protocol udp counter packets 0 bytes 0 dnat to 127.0.0.11:5353",
    expected: "ip daddr 172.30.0.1 udp dport 53 counter packets 0 bytes 0 dnat to 127.0.0.11:5353",
  },
  {
    name: "leaves a match on 127.0.0.110 alone",
    input: "ip daddr 127.0.0.110 udp dport 53 counter packets 0 bytes 0 accept",
    expected: "ip daddr 127.0.0.110 udp dport 53 counter packets 0 bytes 0 accept",
  },
  {
    name: "leaves an SNAT to port 530 alone",
    input: "ip saddr 127.0.0.11 udp sport 45927 counter packets 0 bytes 0 snat to :530",
    expected: "ip saddr 127.0.0.11 udp sport 45927 counter packets 0 bytes 0 snat to :530",
  },
  {
    name: "leaves a DNAT elsewhere without a port match alone",
    input: "ip daddr 10.0.0.1 meta l4proto tcp counter packets 0 bytes 0 dnat to 10.0.0.2:8080",
    expected: "ip daddr 10.0.0.1 meta l4proto tcp counter packets 0 bytes 0 dnat to 10.0.0.2:8080",
  },
  {
    name: "leaves an already rewritten rule as it is",
    input: "ip daddr 172.30.0.1 udp dport 53 counter packets 0 bytes 0 dnat to 127.0.0.11:45927",
    expected: "ip daddr 172.30.0.1 udp dport 53 counter packets 0 bytes 0 dnat to 127.0.0.11:45927",
  },
];

for (const { name, input, expected } of ruleCases) {
  Deno.test(`rewriteNftRule() ${name}`, () => {
    assert.equal(rewriteNftRule(input, HOST), expected);
  });
}

Deno.test("renderNftTable() reproduces nft's listing byte for byte", () => {
  for (const listing of [DOCKER_TABLE, REWRITTEN_TABLE]) {
    assert.equal(renderNftTable(parseNftTable(listing)), listing);
  }
});

const parseErrors: Array<{ name: string; listing: string; message: RegExp }> = [
  { name: "empty output", listing: "", message: /there is no table/ },
  {
    name: "a line before the table",
    listing: "Warning: something\n" + DOCKER_TABLE,
    message: /line 1 does not open a table: "Warning: something"/,
  },
  {
    name: "a truncated listing",
    listing: DOCKER_TABLE.slice(0, DOCKER_TABLE.lastIndexOf("}")),
    message: /table ip docker-dns is not closed/,
  },
  {
    name: "a set, which the rewrite would have to re-create",
    listing: "table ip docker-dns {\n\tset ports {\n\t\ttype inet_service\n\t}\n}\n",
    message: /line 2 declares a set, which is not supported/,
  },
  {
    name: "a second table",
    listing: DOCKER_TABLE + "table ip other {\n}\n",
    message: /follows the end of the table/,
  },
];

for (const { name, listing, message } of parseErrors) {
  Deno.test(`parseNftTable() rejects ${name}`, () => {
    assert.throws(() => parseNftTable(listing), message);
  });
}

Deno.test("nftDockerDnsScript() rejects the listing of another table", () => {
  assert.throws(
    () => nftDockerDnsScript("table inet docker-dns {\n}\n", HOST),
    /the listing is of table inet docker-dns/,
  );
});

const LIST = "nft list table ip docker-dns";
const NO_TABLE = "Error: No such file or directory\nlist table ip docker-dns\n" +
  "                   ^^^^^^^^^^\n";

Deno.test("rewriteNftDockerDns() lists the table and applies one script with nft -f", async () => {
  const host = new FakeHost({
    executables: { nft: "/usr/sbin/nft" },
    commands: { [LIST]: { stdout: DOCKER_TABLE }, "nft -f -": {} },
  });
  assert.equal(await rewriteNftDockerDns(host, HOST), "changed");
  assert.deepEqual(host.effects, [
    { type: "run", argv: ["nft", "list", "table", "ip", "docker-dns"] },
    { type: "run", argv: ["nft", "-f", "-"], input: DOCKER_TABLE_SCRIPT },
  ]);
});

Deno.test("rewriteNftDockerDns() runs no nft -f on a second run", async () => {
  const host = new FakeHost({
    executables: { nft: "/usr/sbin/nft" },
    commands: { [LIST]: { stdout: REWRITTEN_TABLE } },
  });
  assert.equal(await rewriteNftDockerDns(host, HOST), "unchanged");
  assert.deepEqual(host.effects, [
    { type: "run", argv: ["nft", "list", "table", "ip", "docker-dns"] },
  ]);
});

Deno.test("rewriteNftDockerDns() does nothing when the table does not exist", async () => {
  const host = new FakeHost({
    executables: { nft: "/usr/sbin/nft" },
    commands: { [LIST]: { status: 1, stderr: NO_TABLE } },
  });
  assert.equal(await rewriteNftDockerDns(host, HOST), "absent");
  assert.deepEqual(host.effects, [
    { type: "run", argv: ["nft", "list", "table", "ip", "docker-dns"] },
  ]);
});

Deno.test("rewriteNftDockerDns() runs nothing when nft is not in PATH, and says so", async () => {
  const host = new FakeHost({ commands: { [LIST]: { stdout: DOCKER_TABLE } } });
  assert.equal(await rewriteNftDockerDns(host, HOST), "absent");
  assert.deepEqual(host.effects, []);
  assert.deepEqual(host.logs, [
    "WARN: Docker's DNS rules are in no iptables backend, and nft is not in PATH to look for Docker's nftables table ip docker-dns; pods may not reach Docker's DNS",
  ]);
});

Deno.test("rewriteNftDockerDns() names the command and nft's error when listing fails", async () => {
  const host = new FakeHost({
    executables: { nft: "/usr/sbin/nft" },
    commands: {
      [LIST]: {
        status: 1,
        stderr: "Error: Could not process rule: Operation not permitted\n" +
          "list table ip docker-dns\n^^^^^^^^^^^^^^^^^^^^^^^^^\n",
      },
    },
  });
  await assert.rejects(
    () => rewriteNftDockerDns(host, HOST),
    (error: unknown) => {
      assert.ok(error instanceof CommandError);
      assert.match(
        error.message,
        /^Command `nft list table ip docker-dns` exited with status 1: Error: Could not process rule: Operation not permitted/,
      );
      return true;
    },
  );
});

Deno.test("rewriteNftDockerDns() says which output it cannot parse", async () => {
  const host = new FakeHost({
    executables: { nft: "/usr/sbin/nft" },
    commands: { [LIST]: { stdout: "table ip docker-dns {\n\tmap m {\n\t}\n}\n" } },
  });
  await assert.rejects(
    () => rewriteNftDockerDns(host, HOST),
    /^EntrypointError: Cannot parse `nft list table ip docker-dns` output: line 2 declares a map/,
  );
});

Deno.test("rewriteNftDockerDns() lets nft -f failures through with nft's message", async () => {
  const host = new FakeHost({
    executables: { nft: "/usr/sbin/nft" },
    commands: {
      [LIST]: { stdout: DOCKER_TABLE },
      "nft -f -": { status: 1, stderr: "/dev/stdin:1:1-25: Error: Could not process rule\n" },
    },
  });
  await assert.rejects(
    () => rewriteNftDockerDns(host, HOST),
    /Command `nft -f -` exited with status 1: \/dev\/stdin:1:1-25: Error: Could not process rule/,
  );
});
