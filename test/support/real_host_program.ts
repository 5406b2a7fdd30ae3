/**
 * For the tests whose subject writes to the process's own stderr: runs one real-host call in a
 * program of its own (test/support/programs/real_host.ts), so that the test asserts on that stderr and
 * the unit tier's report stays free of it.
 */
import type { MountOp, RunOptions, RunResult } from "../../lib/host/host.ts";

/** One call: a command on a real host, or a mount operation through system calls. */
export type RealHostRequest =
  | {
    call: "run";
    argv: string[];
    /** The host's bound (`commandTimeoutMs`) and the call's own (`timeoutMs`). */
    hostBound?: number;
    callBound?: number;
    nothrow?: boolean;
    stderr?: RunOptions["stderr"];
  }
  | {
    call: "mount";
    op: MountOp;
    nothrow?: boolean;
    /** Stands in for system calls refused before any call, with this message. */
    refuse?: string;
  };

/** What the call returned or threw, how long it took, and what the process wrote to stderr. */
export interface RealHostAnswer {
  result?: RunResult | null;
  error?: { name: string; message: string; exitCode?: number };
  ms: number;
  stderr: string;
}

const PROGRAM = new URL("./programs/real_host.ts", import.meta.url).pathname;
const CONFIG = new URL("../../deno.json", import.meta.url).pathname;

/** Runs `request` in test/support/programs/real_host.ts and returns its answer. */
export async function onRealHost(request: RealHostRequest): Promise<RealHostAnswer> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", CONFIG, PROGRAM, JSON.stringify(request)],
    env: { NO_COLOR: "1" },
    stdin: "null",
  }).output();
  const err = new TextDecoder().decode(stderr);
  if (code !== 0) throw new Error(`${PROGRAM} exited with status ${code}: ${err}`);
  return { ...JSON.parse(new TextDecoder().decode(stdout)), stderr: err };
}
