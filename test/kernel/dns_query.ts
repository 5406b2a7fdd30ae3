/**
 * Test driver for test/kernel/dns_probe.bats: asks SERVER for NAME (type A) over TRANSPORT with the
 * boot check's own code (lib/dns/probe.ts, lib/dns/message.ts) and prints what it parsed the way
 * `dig +noall +comments +answer` shows it: `status: X`, then one `NAME TTL IN TYPE DATA` line per
 * record, or `error: ...` when there was no answer.
 * Usage: dns_query.ts SERVER NAME UDP|TCP
 */
import { CLASS_IN, TYPE_A, TYPE_CNAME } from "../../lib/dns/message.ts";
import { loadProbe, type Transport } from "../../lib/dns/probe.ts";

const [server, name, transport] = Deno.args;
const probe = loadProbe();
if (!probe) throw new Error("no FFI: run with deno run -A");
const [result] = probe({
  server,
  name,
  transports: [transport as Transport],
  timeoutMs: 2000,
});
if (!result.answered) {
  console.log(`error: ${result.error}`);
} else {
  const types: Record<number, string> = { [TYPE_A]: "A", [TYPE_CNAME]: "CNAME" };
  console.log(`status: ${result.response!.status}`);
  for (const record of result.response!.answers) {
    const klass = CLASS_IN === 1 ? "IN" : "?";
    console.log(
      `${record.name} ${record.ttl} ${klass} ${types[record.type] ?? record.type} ${record.data}`,
    );
  }
}
