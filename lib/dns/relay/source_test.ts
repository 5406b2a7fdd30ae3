import assert from "node:assert/strict";
import { type InterfaceAddress, sourceAddress } from "./source.ts";

const NODE: InterfaceAddress[] = [
  { family: "IPv4", address: "127.0.0.1", cidr: "127.0.0.1/8" },
  { family: "IPv6", address: "::1", cidr: "::1/128" },
  { family: "IPv4", address: "172.18.0.3", cidr: "172.18.0.3/16" },
  { family: "IPv6", address: "fc00:f853:ccd:e793::3", cidr: "fc00:f853:ccd:e793::3/64" },
  { family: "IPv6", address: "fe80::42:acff:fe12:3", cidr: "fe80::42:acff:fe12:3/64" },
  { family: "IPv4", address: "10.244.0.1", cidr: "10.244.0.1/24" },
];

Deno.test("sourceAddress() picks the node's address on the upstream's network", () => {
  assert.equal(sourceAddress("172.18.0.1", NODE), "172.18.0.3");
  assert.equal(sourceAddress("10.244.0.9", NODE), "10.244.0.1");
  assert.equal(sourceAddress("fc00:f853:ccd:e793::1", NODE), "fc00:f853:ccd:e793::3");
});

Deno.test("sourceAddress() prefers the longest prefix that holds the upstream", () => {
  const nested: InterfaceAddress[] = [
    { family: "IPv4", address: "10.0.0.5", cidr: "10.0.0.5/8" },
    { family: "IPv4", address: "10.1.2.5", cidr: "10.1.2.5/24" },
  ];
  assert.equal(sourceAddress("10.1.2.1", nested), "10.1.2.5");
  assert.equal(sourceAddress("10.9.9.9", nested), "10.0.0.5");
});

Deno.test("sourceAddress() uses loopback for a loopback upstream", () => {
  assert.equal(sourceAddress("127.0.0.1", NODE), "127.0.0.1");
  assert.equal(sourceAddress("127.0.0.11", NODE), "127.0.0.1");
  assert.equal(sourceAddress("::1", NODE), "::1");
});

Deno.test("sourceAddress() falls back to a routable address of the family, never link-local", () => {
  assert.equal(sourceAddress("192.0.2.53", NODE), "172.18.0.3");
  assert.equal(sourceAddress("2001:db8::53", NODE), "fc00:f853:ccd:e793::3");
  assert.equal(sourceAddress("2001:db8::53", NODE.filter((i) => i.family === "IPv4")), undefined);
});
