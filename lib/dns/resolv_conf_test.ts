import assert from "node:assert/strict";
import {
  addRelayNameserver,
  parseResolvConf,
  renderResolvConf,
  replaceAddress,
  withoutZone,
} from "./resolv_conf.ts";

const HOST = "172.18.0.1";

/** resolv.conf as Docker writes it on a user-defined network. */
const DOCKER = `nameserver 127.0.0.11
search corp.example
options ndots:0

# Based on host file: '/etc/resolv.conf' (internal resolver)
# ExtServers: [host(10.255.255.53)]
# Overrides: []
# Option ndots from: internal
`;

const cases: Array<
  { name: string; original: string; search: string | undefined; expected: string }
> = [
  {
    name: "keeps every line but the address when KIND_DNS_SEARCH is unset",
    original: DOCKER,
    search: undefined,
    expected: DOCKER.replace("127.0.0.11", HOST),
  },
  {
    name: "drops search lines when KIND_DNS_SEARCH is empty",
    original: DOCKER,
    search: "",
    expected: DOCKER.replace("127.0.0.11", HOST).replace("search corp.example\n", ""),
  },
  {
    name: "writes the given search line first when KIND_DNS_SEARCH is set",
    original: DOCKER,
    search: "a.example b.example",
    expected: "search a.example b.example\n" +
      DOCKER.replace("127.0.0.11", HOST).replace("search corp.example\n", ""),
  },
  {
    name: "adds the final newline a file without one lacks",
    original: "nameserver 127.0.0.11",
    search: undefined,
    expected: `nameserver ${HOST}\n`,
  },
  {
    name: "collapses trailing blank lines into one newline, as $(...) and echo do",
    original: "nameserver 127.0.0.11\n\n\n\n",
    search: undefined,
    expected: `nameserver ${HOST}\n`,
  },
  {
    name: "turns an empty file into one empty line, as echo does",
    original: "",
    search: undefined,
    expected: "\n",
  },
  {
    name: "drops lines that merely start with search, as grep -v ^search does",
    original: "searchdomains x\nnameserver 127.0.0.11\n search kept.example\n",
    search: "",
    expected: `nameserver ${HOST}\n search kept.example\n`,
  },
  {
    name: "drops domain lines when KIND_DNS_SEARCH is set, so they cannot override it",
    original: "domain podman.example\nnameserver 127.0.0.11\n",
    search: "a.example",
    expected: `search a.example\nnameserver ${HOST}\n`,
  },
  {
    name: "writes a search line alone when the file held only search lines",
    original: "search old.example\n",
    search: "new.example",
    expected: "search new.example\n",
  },
  {
    name: "keeps characters that would break a sed expression in KIND_DNS_SEARCH",
    original: "nameserver 127.0.0.11\n",
    search: "a/b.example c&d.example e\\f",
    expected: `search a/b.example c&d.example e\\f\nnameserver ${HOST}\n`,
  },
  {
    name: "turns line breaks in KIND_DNS_SEARCH into spaces so no line can be injected",
    original: "nameserver 127.0.0.11\n",
    search: "a.example\nnameserver 1.2.3.4",
    expected: `search a.example nameserver 1.2.3.4\nnameserver ${HOST}\n`,
  },
  {
    name: "leaves 127.0.0.110 alone",
    original: "nameserver 127.0.0.110\n",
    search: undefined,
    expected: "nameserver 127.0.0.110\n",
  },
];

for (const { name, original, search, expected } of cases) {
  Deno.test(`renderResolvConf() ${name}`, () => {
    const result = renderResolvConf({ original, hostIp: HOST, dnsSearch: search });
    assert.ok(result.ok);
    assert.equal(result.content, expected);
  });
}

Deno.test("renderResolvConf() warns when KIND_DNS_SEARCH holds line breaks, showing the line it writes", () => {
  const result = renderResolvConf({
    original: "nameserver 127.0.0.11\n",
    hostIp: HOST,
    dnsSearch: "good.test\nnameserver 6.6.6.6",
  });
  assert.ok(result.ok);
  assert.equal(result.content, `search good.test nameserver 6.6.6.6\nnameserver ${HOST}\n`);
  assert.deepEqual(result.warnings, [
    'KIND_DNS_SEARCH contains line breaks; writing them as spaces: "search good.test nameserver 6.6.6.6"',
  ]);
});

Deno.test("renderResolvConf() refuses to produce an empty file from search lines and an empty KIND_DNS_SEARCH", () => {
  const result = renderResolvConf({
    original: "search a\nsearch b\n",
    hostIp: HOST,
    dnsSearch: "",
  });
  assert.equal(result.ok, false);
});

Deno.test("replaceAddress() replaces only whole addresses", () => {
  assert.equal(
    replaceAddress("127.0.0.11 1127.0.0.11 127.0.0.111 127.0.0.11:53", "127.0.0.11", "X"),
    "X 1127.0.0.11 127.0.0.111 X:53",
  );
});

const IPV6 = "fc00:f853:ccd:e793::3";

Deno.test("parseResolvConf() reads resolv.conf as glibc does: the last search or domain wins", () => {
  const text = "domain a.example\nnameserver 10.0.0.1\n  nameserver 10.0.0.2 \nsearch b c\n";
  assert.deepEqual(parseResolvConf(text).nameservers, ["10.0.0.1", "10.0.0.2"]);
  assert.deepEqual(parseResolvConf(text).search, ["b", "c"]);
  assert.deepEqual(parseResolvConf("search b\ndomain dns.podman\n").search, ["dns.podman"]);
  assert.deepEqual(parseResolvConf("nameserver 1.2.3.4\n").search, []);
});

Deno.test("parseResolvConf() lists nameserver lines in order, without comments; withoutZone() drops a zone", () => {
  assert.deepEqual(
    parseResolvConf(
      "search dns.podman\nnameserver 10.89.0.1\n# nameserver 1.1.1.1\n" +
        "nameserver fe80::1%eth0\noptions ndots:0\n  nameserver\t172.18.0.1\n",
    ).nameservers.map(withoutZone),
    ["10.89.0.1", "fe80::1", "172.18.0.1"],
  );
  assert.deepEqual(parseResolvConf("options ndots:0\n").nameservers, []);
  assert.equal(withoutZone("fe80::1%eth0"), "fe80::1");
});
Deno.test("addRelayNameserver() puts the relay right after the first IPv4 nameserver", () => {
  assert.equal(
    addRelayNameserver("nameserver 172.18.0.1\noptions ndots:0\n", IPV6),
    `nameserver 172.18.0.1\nnameserver ${IPV6}\noptions ndots:0\n`,
  );
  assert.equal(
    addRelayNameserver(
      "search a\nnameserver 10.0.0.1\nnameserver 10.0.0.2\nnameserver 10.0.0.3\n",
      IPV6,
    ),
    `search a\nnameserver 10.0.0.1\nnameserver ${IPV6}\nnameserver 10.0.0.2\nnameserver 10.0.0.3\n`,
  );
});

Deno.test("addRelayNameserver() is idempotent and replaces the relay's old address", () => {
  const once = addRelayNameserver("nameserver 172.18.0.1\n", IPV6);
  assert.equal(addRelayNameserver(once, IPV6), once);
  assert.equal(addRelayNameserver(once, IPV6, IPV6), once);
  assert.equal(
    addRelayNameserver(once, "fc00:f853:ccd:e793::9", IPV6),
    "nameserver 172.18.0.1\nnameserver fc00:f853:ccd:e793::9\n",
  );
});

Deno.test("addRelayNameserver() leaves a file with an IPv6 nameserver or no IPv4 one alone", () => {
  const podman = "search dns.podman\nnameserver 10.89.0.1\nnameserver fd00:99::1\n";
  assert.equal(addRelayNameserver(podman, IPV6), podman);
  assert.equal(addRelayNameserver("options ndots:0\n", IPV6), "options ndots:0\n");
});

Deno.test("renderResolvConf() adds the relay's nameserver line it is given, after the host IP", () => {
  const result = renderResolvConf({
    original: "nameserver 127.0.0.11\noptions ndots:0\n",
    hostIp: HOST,
    dnsSearch: "",
    relay: { address: IPV6, old: "fc00:f853:ccd:e793::9" },
  });
  assert.deepEqual(result, {
    ok: true,
    content: `nameserver ${HOST}\nnameserver ${IPV6}\noptions ndots:0\n`,
    warnings: [],
  });
});
