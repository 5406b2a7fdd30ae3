/**
 * One call on the real host, as a program of its own: for the tests whose subject writes to the
 * process's stderr (the WARN line of a timed-out command, mount(8)'s message), which `deno test`
 * would print in its report. The request is JSON in the first argument (`RealHostRequest` in
 * test/support/real_host_program.ts); the answer is one line of JSON on stdout, and what the host wrote
 * to stderr is this program's stderr.
 */
import { createHost, mountWithSyscalls } from "../../../lib/host/real.ts";
import type { MountOp } from "../../../lib/host/host.ts";
import { loadSyscalls } from "../../../lib/host/syscalls.ts";

const request = JSON.parse(Deno.args[0]);
const start = Date.now();
let answer: Record<string, unknown>;
try {
  if (request.call === "run") {
    const host = createHost(
      request.hostBound === undefined ? {} : { commandTimeoutMs: request.hostBound },
    );
    const result = await host.run(request.argv, {
      timeoutMs: request.callBound,
      nothrow: request.nothrow,
      stderr: request.stderr,
    });
    answer = { result };
  } else {
    // A refusal before any system call, as when mountinfo cannot be read.
    const syscalls = request.refuse === undefined ? loadSyscalls() : {
      mount() {
        throw new Error(request.refuse);
      },
      statfsType: () => undefined,
    };
    const op: MountOp = request.op;
    const result = await mountWithSyscalls(op, { nothrow: request.nothrow }, syscalls);
    answer = { result: result ?? null };
  }
} catch (error) {
  const { name, message, exitCode } = error as Error & { exitCode?: number };
  answer = { error: { name, message, exitCode } };
}
console.log(JSON.stringify({ ...answer, ms: Date.now() - start }));
// An abandoned command's output pipe (a child that left it open) would keep this process alive.
Deno.exit(0);
