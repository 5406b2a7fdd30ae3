import assert from "node:assert/strict";
import { parseIptablesSave, rewriteDockerDnsRules } from "./nat_rules.ts";

const HOST = "172.18.0.1";

/** Docker's rules for the embedded DNS, as `iptables-save` prints them (tcp before udp). */
const DOCKER_NAT = Deno.readTextFileSync(
  new URL("../../test/testdata/iptables/docker.rules", import.meta.url),
);

const DOCKER_NAT_REWRITTEN = Deno.readTextFileSync(
  new URL("../../test/testdata/iptables/docker-rewritten.rules", import.meta.url),
);

Deno.test("rewriteDockerDnsRules() rewrites Docker's embedded DNS rules as kind's bash does", () => {
  assert.equal(rewriteDockerDnsRules(DOCKER_NAT, HOST), DOCKER_NAT_REWRITTEN);
});

const lineCases: Array<{ name: string; input: string; expected: string }> = [
  {
    name: "adds --dport 53 to a tcp DNAT rule that lost it (kind #3054)",
    input: "-A DOCKER_OUTPUT -d 127.0.0.11/32 -p tcp -j DNAT --to-destination 127.0.0.11:46739",
    expected:
      "-A DOCKER_OUTPUT -d 172.18.0.1/32 -p tcp --dport 53 -j DNAT --to-destination 127.0.0.11:46739",
  },
  {
    name: "adds --dport 53 to a udp DNAT rule that lost it",
    input: "-A DOCKER_OUTPUT -d 127.0.0.11/32 -p udp -j DNAT --to-destination 127.0.0.11:5353",
    expected:
      "-A DOCKER_OUTPUT -d 172.18.0.1/32 -p udp --dport 53 -j DNAT --to-destination 127.0.0.11:5353",
  },
  {
    name: "leaves a rule for 127.0.0.110 alone (the bash's regex would half-rewrite it)",
    input: "-A OUTPUT -d 127.0.0.110/32 -j ACCEPT",
    expected: "-A OUTPUT -d 127.0.0.110/32 -j ACCEPT",
  },
  {
    name: "rewrites -d 127.0.0.11 in any table and chain, as the bash does",
    input: "-A INPUT -d 127.0.0.11/32 -j ACCEPT",
    expected: "-A INPUT -d 172.18.0.1/32 -j ACCEPT",
  },
  {
    name: "copies an OUTPUT jump with several matches into PREROUTING",
    input: "-A OUTPUT -d 127.0.0.11/32 -p udp -j DOCKER_OUTPUT",
    expected:
      "-A OUTPUT -d 172.18.0.1/32 -p udp -j DOCKER_OUTPUT\n-A PREROUTING -d 172.18.0.1/32 -p udp -j DOCKER_OUTPUT",
  },
  {
    name: "does not copy an OUTPUT jump without matches (the bash's pattern needs two spaces)",
    input: "-A OUTPUT -j DOCKER_OUTPUT",
    expected: "-A OUTPUT -j DOCKER_OUTPUT",
  },
  {
    name: "moves what follows the jump target to the copy, as sed's \\0 replacement does",
    input: "-A OUTPUT -d 127.0.0.11/32 -j DOCKER_OUTPUT_X",
    expected:
      "-A OUTPUT -d 172.18.0.1/32 -j DOCKER_OUTPUT\n-A PREROUTING -d 172.18.0.1/32 -j DOCKER_OUTPUT_X",
  },
  {
    name: "leaves --to-source :5353 alone",
    input: "-A X -j SNAT --to-source :5353",
    expected: "-A X -j SNAT --to-source :5353",
  },
  {
    name: "rewrites a comment that names the address, as the bash does",
    input: '-A INPUT -m comment --comment "-d 127.0.0.11 here" -j ACCEPT',
    expected: '-A INPUT -m comment --comment "-d 172.18.0.1 here" -j ACCEPT',
  },
];

for (const { name, input, expected } of lineCases) {
  Deno.test(`rewriteDockerDnsRules() ${name}`, () => {
    assert.equal(rewriteDockerDnsRules(input, HOST), expected);
  });
}

Deno.test("rewriteDockerDnsRules() passes the filter table through untouched", () => {
  const filter = `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -s 10.0.0.0/8 -p udp -m udp --dport 53 -j ACCEPT
-A FORWARD -j DOCKER-USER
COMMIT
`;
  assert.equal(rewriteDockerDnsRules(filter, HOST), filter);
});

Deno.test("rewriteDockerDnsRules() with skipExistingJumps changes nothing on its own output", () => {
  const once = rewriteDockerDnsRules(DOCKER_NAT, HOST, { skipExistingJumps: true });
  assert.equal(once, DOCKER_NAT_REWRITTEN);
  assert.equal(rewriteDockerDnsRules(once, HOST, { skipExistingJumps: true }), once);
});

Deno.test("rewriteDockerDnsRules() without skipExistingJumps duplicates the jump like the bash", () => {
  const twice = rewriteDockerDnsRules(DOCKER_NAT_REWRITTEN, HOST);
  const jumps = twice.split("\n").filter((l) =>
    l === "-A PREROUTING -d 172.18.0.1/32 -j DOCKER_OUTPUT"
  );
  assert.equal(jumps.length, 2);
});

Deno.test("rewriteDockerDnsRules() finds Docker's rules after 100 000 other rules", () => {
  const rules = Array.from(
    { length: 100_000 },
    (_, i) => `-A CHAIN${i % 50} -s 10.${i % 250}.0.0/16 -j ACCEPT`,
  );
  const text = `*filter\n${rules.join("\n")}\nCOMMIT\n` + DOCKER_NAT;
  const out = rewriteDockerDnsRules(text, HOST);
  assert.ok(out.endsWith(DOCKER_NAT_REWRITTEN));
});

Deno.test("parseIptablesSave() accepts Docker's dump and an empty dump", () => {
  assert.deepEqual(parseIptablesSave(DOCKER_NAT).map((t) => t.name), ["nat"]);
  assert.deepEqual(parseIptablesSave(""), []);
});

const badDumps: Array<{ name: string; text: string; message: RegExp }> = [
  {
    name: "a dump without COMMIT",
    text: "*nat\n:OUTPUT ACCEPT [0:0]\n",
    message: /table nat has no COMMIT line/,
  },
  {
    name: "an error message",
    text: "iptables-save: unable to initialize table 'nat'\n",
    message: /line 1 is outside a table/,
  },
  {
    name: "garbage inside a table",
    text: "*nat\nhello world\nCOMMIT\n",
    message: /line 2 is not a chain or rule: "hello world"/,
  },
  {
    name: "a table opened twice",
    text: "*nat\n*filter\nCOMMIT\n",
    message: /line 2 starts table filter before COMMIT/,
  },
];

for (const { name, text, message } of badDumps) {
  Deno.test(`parseIptablesSave() rejects ${name}`, () => {
    assert.throws(() => parseIptablesSave(text), message);
  });
}
