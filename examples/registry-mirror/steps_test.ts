import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
// Only the package's public surface, as a project of your own imports it.
import { insertAfter, KIND_STEPS } from "kind-entrypoint-ts";
import {
  boot as bootWith,
  dryRun,
  FakeHost,
  type FakeHostOptions,
} from "kind-entrypoint-ts/testing";
import {
  caTargetFile,
  extraCa,
  parseMirror,
  parseRegistry,
  readsCertsD,
  registryMirror,
  renderHostsToml,
  splitCertificates,
  tomlString,
} from "./steps.ts";

const BUNDLE = readFileSync(
  new URL("testdata/ca.crt", import.meta.url),
  "utf8",
);
const HOSTS_TOML = "/etc/containerd/certs.d/docker.io/hosts.toml";
const KIND_CONFIG = `version = 2
[plugins."io.containerd.grpc.v1.cri".containerd]
  snapshotter = "overlayfs"
[plugins."io.containerd.grpc.v1.cri".registry]
  config_path = "/etc/containerd/certs.d"
`;

/** The example's composition, as entrypoint.ts builds it. */
const STEPS = insertAfter(KIND_STEPS, "containerd", registryMirror, extraCa);

/** A node with kind's containerd config; only the steps around the example's run. */
function node(options: FakeHostOptions = {}): FakeHost {
  return new FakeHost({
    ...options,
    env: { KIND_ENTRYPOINT_STEPS: "containerd,registry_mirror,extra_ca,proxy", ...options.env },
    dirs: ["/etc", "/etc/containerd", ...options.dirs ?? []],
    files: {
      "/proc/self/uid_map": "         0          0 4294967295\n",
      "/etc/containerd/config.toml": KIND_CONFIG,
      ...options.files,
    },
    commands: {
      "stat -f -c %T /kind": { stdout: "overlayfs\n" },
      "update-ca-certificates": { stdout: "Updating certificates in /etc/ssl/certs...\n" },
      ...options.commands,
    },
  });
}

/** Boots the example's composition to the exec; returns the exit status it would end with. */
async function boot(host: FakeHost): Promise<number> {
  const result = await bootWith(host, STEPS);
  if (result.status === 0) assert.deepEqual(result.exec, ["/sbin/init"]);
  return result.status;
}

Deno.test("parseMirror() takes http and https URLs with a host, port and path as given", () => {
  for (
    const url of [
      "https://mirror.example:5000",
      "http://10.0.0.5:5000",
      "https://mirror.example/v2/proxy/",
      "http://[fd00::5]:5000",
    ]
  ) assert.equal(parseMirror(url), url);
});

Deno.test("parseMirror() means no mirror when KIND_REGISTRY_MIRROR is unset or empty", () => {
  assert.equal(parseMirror(undefined), undefined);
  assert.equal(parseMirror(""), undefined);
});

Deno.test("parseMirror() refuses what is not a plain http(s) URL, saying why", () => {
  const cases: [string, RegExp][] = [
    ["not a url", /must not contain whitespace/],
    ["mirror.example:5000", /not a URL \(expected http:\/\/ or https:\/\/ and a host/],
    ["mirror", /not a URL/],
    ["ftp://mirror.example", /scheme ftp is not http or https/],
    ["https://", /not a URL/],
    ["http:mirror.example", /not a URL/],
    ["https:///mirror.example", /not a URL/],
    ["https://:5000", /not a URL/],
    ["https://user:secret@mirror.example", /credentials/],
    ["https://mirror.example/?token=1", /query or fragment/],
    ["https://mirror.example/#top", /query or fragment/],
    ['https://mirror.example"]\n[x', /must not contain/],
    ["https://mirror.example\\", /must not contain/],
    ["https://mirror.example'", /must not contain/],
  ];
  for (const [value, why] of cases) {
    assert.throws(() => parseMirror(value), (error: Error) => {
      assert.match(error.message, why, value);
      assert.ok(error.message.startsWith(`KIND_REGISTRY_MIRROR=${JSON.stringify(value)}: `));
      return true;
    });
  }
});

Deno.test("parseRegistry() defaults to docker.io and takes host names with a port", () => {
  assert.equal(parseRegistry(undefined), "docker.io");
  assert.equal(parseRegistry(""), "docker.io");
  assert.equal(parseRegistry("registry.k8s.io"), "registry.k8s.io");
  assert.equal(parseRegistry("registry.example:5000"), "registry.example:5000");
  for (const bad of ["../etc", "Docker.io", "a b", "docker.io/library", "-x.io", "x.io:"]) {
    assert.throws(() => parseRegistry(bad), /KIND_REGISTRY_MIRROR_FOR=.*not a registry host name/);
  }
});

Deno.test("renderHostsToml() sends Docker Hub pulls to the mirror first, upstream after", () => {
  assert.equal(
    renderHostsToml("docker.io", "https://mirror.example:5000"),
    `# Written at boot from KIND_REGISTRY_MIRROR: pulls from docker.io try this mirror first.
server = "https://registry-1.docker.io"

[host."https://mirror.example:5000"]
  capabilities = ["pull", "resolve"]
`,
  );
  assert.match(renderHostsToml("quay.io", "http://10.0.0.5"), /^server = "https:\/\/quay\.io"$/m);
});

Deno.test("tomlString() escapes quotes, backslashes and control characters", () => {
  assert.equal(tomlString('a"b\\c\nd\x01'), '"a\\"b\\\\c\\nd\\u0001"');
  assert.equal(tomlString("https://mirror.example:5000"), '"https://mirror.example:5000"');
});

Deno.test("readsCertsD() finds config_path in containerd 1.x and 2.x configs", () => {
  assert.equal(readsCertsD(KIND_CONFIG), true);
  assert.equal(readsCertsD("  config_path = '/etc/containerd/certs.d'\n"), true);
  assert.equal(readsCertsD('snapshotter = "overlayfs"\n'), false);
  assert.equal(readsCertsD('# config_path = "/etc/containerd/certs.d"\n'), false);
});

Deno.test("splitCertificates() gives one file's text per certificate of a bundle", () => {
  const certificates = splitCertificates(BUNDLE, "ca.crt");
  assert.equal(certificates.length, 2);
  for (const pem of certificates) {
    assert.match(
      pem,
      /^-----BEGIN CERTIFICATE-----\n([A-Za-z0-9+/=]{1,64}\n)+-----END CERTIFICATE-----\n$/,
    );
  }
  // However the body was wrapped (or indented), the file is the same.
  const body = certificates[0].split("\n").slice(1, -2).join("");
  assert.deepEqual(
    splitCertificates(`-----BEGIN CERTIFICATE-----\n  ${body}\r\n-----END CERTIFICATE-----`, "x"),
    [certificates[0]],
  );
});

Deno.test("splitCertificates() refuses a file without a certificate or with a broken one", () => {
  assert.throws(() => splitCertificates("hello\n", "/etc/kind-ca/ca.crt"), {
    message: "/etc/kind-ca/ca.crt: no PEM certificate (-----BEGIN CERTIFICATE-----) in it",
  });
  assert.throws(
    () =>
      splitCertificates(
        "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n",
        "f",
      ),
    { message: "f: certificate 1 is not base64 PEM" },
  );
});

Deno.test("the example's steps run right after containerd's, before proxy's", async () => {
  const host = node({
    env: { KIND_REGISTRY_MIRROR: "https://mirror.example:5000" },
    files: { "/etc/kind-ca/ca.crt": BUNDLE },
  });
  assert.equal(await boot(host), 0);
  const [first, second] = splitCertificates(BUNDLE, "");
  assert.deepEqual(host.effects, [
    // The containerd step's probe: it ran first.
    { type: "run", argv: ["stat", "-f", "-c", "%T", "/kind"] },
    { type: "mkdir", path: "/etc/containerd/certs.d/docker.io" },
    {
      type: "write",
      path: HOSTS_TOML,
      data: renderHostsToml("docker.io", "https://mirror.example:5000"),
    },
    { type: "mkdir", path: "/usr/local/share/ca-certificates" },
    { type: "write", path: caTargetFile(0), data: first },
    { type: "write", path: caTargetFile(1), data: second },
    { type: "run", argv: ["update-ca-certificates"] },
    { type: "mkdir", path: "/etc/systemd/system.conf.d" },
    {
      type: "write",
      path: "/etc/systemd/system.conf.d/proxy-default-environment.conf",
      data: '[Manager]\nDefaultEnvironment="HTTP_PROXY=" "HTTPS_PROXY=" "NO_PROXY="\n',
    },
  ]);
  assert.deepEqual(host.logs, [
    "INFO: using https://mirror.example:5000 as a mirror of docker.io",
    "INFO: adding 2 CA certificate(s) from /etc/kind-ca/ca.crt to the trust store",
    "INFO: starting init",
  ]);
});

Deno.test("a second boot finds the example's files in place and changes nothing", async () => {
  const host = node({
    env: { KIND_REGISTRY_MIRROR: "https://mirror.example:5000" },
    files: { "/etc/kind-ca/ca.crt": BUNDLE },
  });
  assert.equal(await boot(host), 0);
  const rerun = node({
    env: { KIND_REGISTRY_MIRROR: "https://mirror.example:5000" },
    files: Object.fromEntries(host.files),
    dirs: [...host.dirs],
  });
  assert.equal(await boot(rerun), 0);
  // Only the containerd step's probe and the proxy step (which rewrites its drop-in every time,
  // as kind's does) act again.
  assert.deepEqual(
    rerun.effects.filter((e) => !("path" in e && e.path.startsWith("/etc/systemd/"))),
    [{ type: "run", argv: ["stat", "-f", "-c", "%T", "/kind"] }],
  );
});

Deno.test("without KIND_REGISTRY_MIRROR or /etc/kind-ca/ca.crt the example's steps do nothing", async () => {
  const host = node();
  assert.equal(await boot(host), 0);
  assert.deepEqual(host.effects.map((e) => "path" in e ? e.path : e.type), [
    "run",
    "/etc/systemd/system.conf.d",
    "/etc/systemd/system.conf.d/proxy-default-environment.conf",
  ]);
  assert.deepEqual(host.logs, ["INFO: starting init"]);
});

Deno.test("registry_mirror warns when containerd is not configured to read certs.d", async () => {
  const host = node({
    env: { KIND_REGISTRY_MIRROR: "http://10.0.0.5:5000" },
    files: { "/etc/containerd/config.toml": 'snapshotter = "overlayfs"\n' },
  });
  assert.equal(await boot(host), 0);
  assert.ok(host.files.has(HOSTS_TOML));
  assert.ok(host.logs.includes(
    'WARN: /etc/containerd/config.toml does not set config_path = "/etc/containerd/certs.d": ' +
      "containerd will not read the mirror",
  ));
});

Deno.test("a mirror that is not a URL stops the boot with one ERROR line and status 1", async () => {
  const host = node({ env: { KIND_REGISTRY_MIRROR: "not a url" } });
  assert.equal(await boot(host), 1);
  assert.deepEqual(host.logs, [
    'ERROR: registry_mirror: KIND_REGISTRY_MIRROR="not a url": must not contain whitespace, ' +
    "quotes, backslashes or control characters",
  ]);
  assert.equal(host.files.has(HOSTS_TOML), false);
  // Nothing after the failing step ran.
  assert.equal(host.effects.some((e) => "path" in e && e.path.includes("systemd")), false);
});

Deno.test("a failing update-ca-certificates stops the boot with its own exit status", async () => {
  const host = node({
    files: { "/etc/kind-ca/ca.crt": BUNDLE },
    commands: { "update-ca-certificates": { status: 2, stderr: "rehash: broken\n" } },
  });
  assert.equal(await boot(host), 2);
  assert.deepEqual(host.logs.slice(-1), [
    "ERROR: extra_ca: Command `update-ca-certificates` exited with status 2: rehash: broken",
  ]);
});

Deno.test("the dry run plans the example's files and update-ca-certificates, changing nothing", async () => {
  const real = node({
    env: { KIND_REGISTRY_MIRROR: "https://mirror.example:5000" },
    files: { "/etc/kind-ca/ca.crt": BUNDLE },
  });
  const { status, plan } = await dryRun(real, STEPS);
  assert.equal(status, 0);
  assert.deepEqual(real.effects.filter((e) => e.type !== "run" || e.argv[0] !== "stat"), []);
  const entries = plan.split("\n").filter((line) => /^[a-z]/.test(line));
  assert.deepEqual(entries, [
    "mkdir -p /etc/containerd/certs.d/docker.io",
    `write ${HOSTS_TOML}`,
    "mkdir -p /usr/local/share/ca-certificates",
    `write ${caTargetFile(0)}`,
    `write ${caTargetFile(1)}`,
    "run update-ca-certificates",
    "mkdir -p /etc/systemd/system.conf.d",
    "write /etc/systemd/system.conf.d/proxy-default-environment.conf",
    "exec /sbin/init",
  ]);
  assert.match(plan, /^ {4}\+\[host\."https:\/\/mirror\.example:5000"\]$/m);
});

Deno.test("composing refuses an unknown anchor and a name taken twice", () => {
  assert.throws(() => insertAfter(KIND_STEPS, "containerd_x", registryMirror), /No step is named/);
  assert.throws(
    () => insertAfter(STEPS, "proxy", registryMirror),
    /Two steps are named registry_mirror/,
  );
});
