import assert from "node:assert/strict";
import { replaceWholeWord, updateNodeAddresses } from "./node_ip.ts";
import { EntrypointError } from "../errors.ts";
import { isAddress } from "../ip.ts";
import { FakeHost } from "../host/fake.ts";
import { garbage, random } from "../../test/support/generate.ts";

Deno.test("replaceWholeWord() replaces whole addresses only, like sed's \\b", () => {
  const text =
    "server: https://172.18.0.5:6443\n- --advertise-address=172.18.0.5\nx: 172.18.0.50\ny: 1172.18.0.5\n";
  assert.equal(
    replaceWholeWord(text, "172.18.0.5", "172.18.0.6"),
    "server: https://172.18.0.6:6443\n- --advertise-address=172.18.0.6\nx: 172.18.0.50\ny: 1172.18.0.5\n",
  );
});

Deno.test("replaceWholeWord() treats the old address literally, never as a pattern", () => {
  assert.equal(replaceWholeWord("a 1x2x3x4 b", "1.2.3.4", "9.9.9.9"), "a 1x2x3x4 b");
  assert.equal(
    replaceWholeWord("fc00:f853::5 fc00:f853::50", "fc00:f853::5", "fc00:f853::6"),
    "fc00:f853::6 fc00:f853::50",
  );
});

const MANIFEST = "/etc/kubernetes/manifests/kube-apiserver.yaml";

function controlPlane(extra: Record<string, string> = {}) {
  return new FakeHost({
    hostname: "kind-control-plane",
    lookups: {
      "4:kind-control-plane": "172.18.0.6",
      "6:kind-control-plane": "fc00:f853:ccd:e793::6",
    },
    files: {
      "/kind/old-ipv4": "172.18.0.5",
      "/kind/old-ipv6": "fc00:f853:ccd:e793::5",
      [MANIFEST]: "--advertise-address=172.18.0.5 --etcd=172.18.0.50 [fc00:f853:ccd:e793::5]\n",
      "/etc/kubernetes/pki/apiserver.crt": "crt",
      "/etc/kubernetes/pki/apiserver.key": "key",
      ...extra,
    },
    commands: { kubeadm: { stdout: '[certs] Generating "apiserver" certificate and key\n' } },
  });
}

Deno.test("updateNodeAddresses() rewrites old addresses and regenerates the API server certificate", async () => {
  const host = controlPlane();
  await updateNodeAddresses(host);
  assert.deepEqual(host.events, [
    { type: "log", level: "INFO", message: "detected IPv4 address: 172.18.0.6" },
    { type: "log", level: "INFO", message: "detected old IPv4 address: 172.18.0.5" },
    {
      type: "write",
      path: MANIFEST,
      data: "--advertise-address=172.18.0.6 --etcd=172.18.0.50 [fc00:f853:ccd:e793::5]\n",
      atomic: true,
    },
    { type: "log", level: "INFO", message: "detected IPv6 address: fc00:f853:ccd:e793::6" },
    { type: "log", level: "INFO", message: "detected old IPv6 address: fc00:f853:ccd:e793::5" },
    {
      type: "write",
      path: MANIFEST,
      data: "--advertise-address=172.18.0.6 --etcd=172.18.0.50 [fc00:f853:ccd:e793::6]\n",
      atomic: true,
    },
    {
      type: "log",
      level: "INFO",
      message: "clearing and regenerating the certificate for serving the Kubernetes API",
    },
    { type: "remove", path: "/etc/kubernetes/pki/apiserver.crt" },
    { type: "remove", path: "/etc/kubernetes/pki/apiserver.key" },
    {
      type: "run",
      argv: ["kubeadm", "init", "phase", "certs", "apiserver", "--config", "/kind/kubeadm.conf"],
    },
    // Recorded last (kind's bash: right after each family's files), so that a failure before
    // this point is retried at the next boot.
    { type: "write", path: "/kind/old-ipv4", data: "172.18.0.6" },
    { type: "write", path: "/kind/old-ipv6", data: "fc00:f853:ccd:e793::6" },
  ]);
});

Deno.test("updateNodeAddresses() only records the addresses on a first boot", async () => {
  const host = new FakeHost({ lookups: { "4:kind-control-plane": "172.18.0.2" } });
  await updateNodeAddresses(host);
  assert.deepEqual(host.logs, [
    "INFO: detected IPv4 address: 172.18.0.2",
    "INFO: detected IPv6 address: ",
  ]);
  assert.deepEqual(host.effects, [{ type: "write", path: "/kind/old-ipv4", data: "172.18.0.2" }]);
});

Deno.test("updateNodeAddresses() stops with kind's error when the IPv4 address is gone", async () => {
  const host = new FakeHost({ files: { "/kind/old-ipv4": "172.18.0.5\n" } });
  await assert.rejects(updateNodeAddresses(host), {
    message: "have an old IPv4 address but no current IPv4 address (!)",
  });
  assert.deepEqual(host.effects, []);
});

Deno.test("updateNodeAddresses() logs kind's error for a vanished IPv6 address and leaves the files alone", async () => {
  const host = new FakeHost({
    lookups: { "4:kind-control-plane": "172.18.0.5" },
    files: { "/kind/old-ipv4": "172.18.0.5", "/kind/old-ipv6": "fc00::5", [MANIFEST]: "fc00::5\n" },
  });
  await updateNodeAddresses(host);
  assert.deepEqual(host.logs.slice(-3), [
    "INFO: detected IPv6 address: ",
    "INFO: detected old IPv6 address: fc00::5",
    "ERROR: have an old IPv6 address but no current IPv6 address (!)",
  ]);
  assert.equal(host.files.get(MANIFEST), "fc00::5\n");
});

Deno.test("updateNodeAddresses() ignores a remembered address that is not an address", async () => {
  const host = controlPlane({ "/kind/old-ipv4": ".*" });
  await updateNodeAddresses(host);
  assert.ok(host.logs.includes('WARN: ignoring /kind/old-ipv4: ".*" is not an IPv4 address'));
  assert.match(host.files.get(MANIFEST)!, /--advertise-address=172.18.0.5 /);
});

Deno.test("updateNodeAddresses() rewrites nothing for 3000 generated /kind/old-ipvN texts that are not addresses", async () => {
  const next = random(4291);
  let refused = 0;
  for (let i = 0; i < 3000; i++) {
    const old = garbage(next);
    const family = i % 2 === 0 ? 4 : 6;
    // The text itself stands in the manifest among ordinary host:port and image:tag words, so
    // that accepting it would show as a rewrite.
    const manifest = `server: https://localhost:6443\nimage: registry.k8s.io/pause:3.10\n` +
      `host: ${old}\nx: ${old}:6443 [${old}]\n`;
    const host = controlPlane({
      "/kind/old-ipv4": family === 4 ? old : "172.18.0.6",
      "/kind/old-ipv6": family === 6 ? old : "fc00:f853:ccd:e793::6",
      [MANIFEST]: manifest,
    });
    const current = family === 4 ? "172.18.0.6" : "fc00:f853:ccd:e793::6";
    const remembered = old.replace(/\n+$/, "");
    if (isAddress(remembered, family) || remembered === current) continue;
    refused++;
    await updateNodeAddresses(host);
    assert.equal(host.files.get(MANIFEST), manifest, JSON.stringify(old));
    assert.ok(!host.events.some((e) => e.type === "run"), "no certificate for a refused text");
    assert.ok(
      host.logs.includes(
        `WARN: ignoring /kind/old-ipv${family}: ${
          JSON.stringify(remembered)
        } is not an IPv${family} address`,
      ),
      JSON.stringify(old),
    );
  }
  assert.ok(refused > 1500, `only ${refused} generated texts were refused`);
});

Deno.test("updateNodeAddresses() skips the certificate on a worker without one", async () => {
  const host = controlPlane({});
  host.files.delete("/etc/kubernetes/pki/apiserver.key");
  await updateNodeAddresses(host);
  assert.ok(!host.events.some((e) => e.type === "run"));
});

Deno.test("updateNodeAddresses() issues the API server pair again after a run killed while kubeadm issued it", async () => {
  // The killed run removed the pair and never recorded the new address.
  const host = controlPlane({ "/etc/kubernetes/pki/ca.key": "ca key" });
  host.files.delete("/etc/kubernetes/pki/apiserver.crt");
  host.files.delete("/etc/kubernetes/pki/apiserver.key");
  await updateNodeAddresses(host);
  assert.deepEqual(
    host.effects.filter((e) => e.type === "run" || e.type === "remove"),
    [{
      type: "run",
      argv: ["kubeadm", "init", "phase", "certs", "apiserver", "--config", "/kind/kubeadm.conf"],
    }],
  );
  assert.equal(host.files.get("/kind/old-ipv4"), "172.18.0.6");

  const failing = controlPlane({ "/etc/kubernetes/pki/ca.key": "ca key" });
  failing.files.delete("/etc/kubernetes/pki/apiserver.key");
  failing.run = () => Promise.reject(new EntrypointError("kubeadm failed", { exitCode: 3 }));
  await assert.rejects(updateNodeAddresses(failing), {
    message:
      "kubeadm failed; there was no complete apiserver.crt and apiserver.key pair to put back",
  });
  assert.equal(failing.files.get("/etc/kubernetes/pki/apiserver.crt"), "crt", "the half is kept");
  assert.equal(failing.files.get("/kind/old-ipv4"), "172.18.0.5");
});

Deno.test("updateNodeAddresses() changes no file when one of them cannot be read", async () => {
  const host = controlPlane({ "/etc/kubernetes/manifests/etcd.yaml": "172.18.0.5\n" });
  host.files.delete("/var/lib/kubelet/kubeadm-flags.env");
  host.dirs.add("/var/lib/kubelet/kubeadm-flags.env");
  // a directory is not a file: skipped, like the bash's -f
  await updateNodeAddresses(host);
  const unreadable = controlPlane({ "/etc/kubernetes/manifests/etcd.yaml": "172.18.0.5\n" });
  unreadable.readText = (file: string) => {
    if (file === MANIFEST) throw new Error(`Cannot read ${file}: permission denied`);
    return FakeHost.prototype.readText.call(unreadable, file);
  };
  await assert.rejects(updateNodeAddresses(unreadable), /Cannot read .*kube-apiserver.yaml/);
  assert.deepEqual(unreadable.effects, []);
});

Deno.test("updateNodeAddresses() regenerates the certificate at the next boot after kubeadm failed", async () => {
  const host = controlPlane();
  const kubeadm = "kubeadm init phase certs apiserver --config /kind/kubeadm.conf";
  let fails = true;
  host.run = (argv, options) =>
    argv[0] === "kubeadm" && fails
      ? Promise.reject(new EntrypointError("kubeadm failed", { exitCode: 3 }))
      : FakeHost.prototype.run.call(host, argv, options);
  await assert.rejects(updateNodeAddresses(host), /kubeadm failed/);
  assert.equal(host.files.get("/kind/old-ipv4"), "172.18.0.5", "the old address is kept");
  assert.equal(host.files.get("/kind/old-ipv6"), "fc00:f853:ccd:e793::5");
  assert.equal(host.files.get("/etc/kubernetes/pki/apiserver.crt"), "crt", "put back");

  fails = false;
  host.events.length = 0;
  await updateNodeAddresses(host);
  assert.ok(host.events.some((e) => e.type === "run" && e.argv.join(" ") === kubeadm));
  assert.equal(host.files.get("/kind/old-ipv4"), "172.18.0.6");
  assert.equal(host.files.get("/kind/old-ipv6"), "fc00:f853:ccd:e793::6");
  assert.equal(
    host.files.get(MANIFEST),
    "--advertise-address=172.18.0.6 --etcd=172.18.0.50 [fc00:f853:ccd:e793::6]\n",
  );
});

Deno.test("updateNodeAddresses() puts the old certificate back when kubeadm fails", async () => {
  const host = new FakeHost({
    lookups: { "4:kind-control-plane": "172.18.0.6" },
    files: {
      "/kind/old-ipv4": "172.18.0.5",
      "/etc/kubernetes/pki/apiserver.crt": "crt",
      "/etc/kubernetes/pki/apiserver.key": "key",
    },
    modes: { "/etc/kubernetes/pki/apiserver.key": 0o600 },
    commands: { kubeadm: { status: 3, stderr: "kubeadm: boom\n" } },
  });
  await assert.rejects(updateNodeAddresses(host), (error: unknown) => {
    assert.equal(
      (error as Error).message,
      "Command `kubeadm init phase certs apiserver --config /kind/kubeadm.conf` exited with status 3: kubeadm: boom; the previous apiserver.crt and apiserver.key were put back",
    );
    assert.equal((error as { exitCode: number }).exitCode, 3);
    return true;
  });
  assert.equal(host.files.get("/etc/kubernetes/pki/apiserver.crt"), "crt");
  assert.equal(host.files.get("/etc/kubernetes/pki/apiserver.key"), "key");
});
