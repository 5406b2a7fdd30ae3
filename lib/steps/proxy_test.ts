import assert from "node:assert/strict";
import { configureProxy, PROXY_CONF, quoteSystemdWord, renderProxyConf } from "./proxy.ts";
import { FakeHost } from "../host/fake.ts";
import { extractFirstWord, parseManagerConf } from "../../test/faults/systemd_conf.ts";

Deno.test("renderProxyConf() writes every proxy variable, unset ones empty", () => {
  const cases: [Record<string, string>, string][] = [
    [{}, '"HTTP_PROXY=" "HTTPS_PROXY=" "NO_PROXY="'],
    [
      { HTTP_PROXY: "http://p:3128", HTTPS_PROXY: "http://p:3129", NO_PROXY: "localhost,.svc" },
      '"HTTP_PROXY=http://p:3128" "HTTPS_PROXY=http://p:3129" "NO_PROXY=localhost,.svc"',
    ],
    [{ NO_PROXY: "" }, '"HTTP_PROXY=" "HTTPS_PROXY=" "NO_PROXY="'],
    // Lower-case variables are not read; `$`, `%` and `'` mean nothing to systemd here.
    [{ HTTP_PROXY: "a$b%c'd", http_proxy: "x" }, `"HTTP_PROXY=a$b%c'd" "HTTPS_PROXY=" "NO_PROXY="`],
    // Quotes, backslashes and control characters are escaped (kind writes them raw).
    [
      { HTTP_PROXY: 'http://u:p"w@p:3128', NO_PROXY: "a\\b\nDefaultCPUAccounting=no\t\x01" },
      '"HTTP_PROXY=http://u:p\\"w@p:3128" "HTTPS_PROXY=" ' +
      '"NO_PROXY=a\\\\b\\nDefaultCPUAccounting=no\\t\\x01"',
    ],
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

Deno.test("renderProxyConf() output reads back, under systemd's rules, as exactly the values", () => {
  const values = [
    "",
    "http://proxy.example:3128",
    'http://user:pa"ss@proxy:3128',
    'localhost\nDefaultEnvironment="LD_PRELOAD=/kind/evil.so"',
    "ends with a backslash\\",
    "\\x41 is not an escape here",
    "tab\tcr\rdel\x7fesc\x1b",
    "'single' \"double\" $HOME %h ; # [Manager]",
    "ünïcode ✓",
  ];
  for (const value of values) {
    const env: Record<string, string> = { HTTP_PROXY: value, HTTPS_PROXY: value, NO_PROXY: value };
    const conf = parseManagerConf(renderProxyConf((name) => env[name]));
    assert.deepEqual(conf.problems, [], value);
    assert.deepEqual(conf.keys, ["Manager.DefaultEnvironment"], value);
    assert.deepEqual(conf.environment, [
      `HTTP_PROXY=${value}`,
      `HTTPS_PROXY=${value}`,
      `NO_PROXY=${value}`,
    ], value);
  }
});

Deno.test("the strict reader agrees with systemd on kind's unescaped file", () => {
  // What kind's heredoc writes for NO_PROXY='localhost"<newline>DefaultEnvironment="LD_PRELOAD=...':
  // two valid lines, and a variable the user never meant to set for every service.
  const injected = parseManagerConf(
    '[Manager]\nDefaultEnvironment="HTTP_PROXY=" "HTTPS_PROXY=" "NO_PROXY=localhost"\n' +
      'DefaultEnvironment="LD_PRELOAD=/kind/evil.so"\n',
  );
  assert.deepEqual(injected.environment, [
    "HTTP_PROXY=",
    "HTTPS_PROXY=",
    "NO_PROXY=localhost",
    "LD_PRELOAD=/kind/evil.so",
  ]);
  // An unbalanced quote: systemd keeps the words before it and ignores the rest of the line.
  const unbalanced = parseManagerConf('[Manager]\nDefaultEnvironment="A=1" "B=2\n');
  assert.deepEqual(unbalanced.environment, ["A=1"]);
  assert.match(unbalanced.problems[0], /unbalanced quoting/);
  assert.deepEqual(extractFirstWord('a"b c"d e'), { word: "ab cd", rest: " e" });
  assert.ok("error" in extractFirstWord('"\\d"'));
  assert.equal(quoteSystemdWord("x"), '"x"');
});
