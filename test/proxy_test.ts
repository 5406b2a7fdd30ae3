import assert from "node:assert/strict";
import { configureProxy, PROXY_CONF, renderProxyConf } from "../lib/proxy.ts";
import { FakeHost } from "./fake_host.ts";

Deno.test("renderProxyConf() writes every proxy variable, unset ones empty", () => {
  const cases: [Record<string, string>, string][] = [
    [{}, '"HTTP_PROXY=" "HTTPS_PROXY=" "NO_PROXY="'],
    [
      { HTTP_PROXY: "http://p:3128", HTTPS_PROXY: "http://p:3129", NO_PROXY: "localhost,.svc" },
      '"HTTP_PROXY=http://p:3128" "HTTPS_PROXY=http://p:3129" "NO_PROXY=localhost,.svc"',
    ],
    [{ NO_PROXY: "" }, '"HTTP_PROXY=" "HTTPS_PROXY=" "NO_PROXY="'],
    // Written as they are, like kind's heredoc; lower-case variables are not read.
    [{ HTTP_PROXY: 'a"$b', http_proxy: "x" }, '"HTTP_PROXY=a"$b" "HTTPS_PROXY=" "NO_PROXY="'],
  ];
  for (const [env, assignments] of cases) {
    assert.equal(
      renderProxyConf((name) => env[name]),
      `[Manager]\nDefaultEnvironment=${assignments}\n`,
    );
  }
});

Deno.test("configureProxy() creates the drop-in directory, then writes the file", () => {
  const host = new FakeHost({ env: { HTTPS_PROXY: "http://proxy.example:3128" } });
  configureProxy(host);
  assert.deepEqual(host.events, [
    { type: "mkdir", path: "/etc/systemd/system.conf.d" },
    {
      type: "write",
      path: PROXY_CONF,
      data: '[Manager]\nDefaultEnvironment="HTTP_PROXY=" ' +
        '"HTTPS_PROXY=http://proxy.example:3128" "NO_PROXY="\n',
    },
  ]);
});

Deno.test("configureProxy() stops with status 1 when the file cannot be written", () => {
  const host = new FakeHost({ dirs: [PROXY_CONF] });
  assert.throws(() => configureProxy(host), (error: unknown) => {
    assert.equal((error as { exitCode: number }).exitCode, 1);
    assert.match((error as Error).message, /Cannot write .*proxy-default-environment.conf/);
    return true;
  });
});
