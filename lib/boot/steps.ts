/**
 * The steps of kind's entrypoint, in kind's order. The order matters: kind runs the configure*
 * steps first so that nothing started later races with them.
 */
import { fixCgroup } from "../steps/cgroups.ts";
import { configureContainerd } from "../steps/containerd.ts";
import { startDnsCheck } from "../dns/check.ts";
import type { Handoffs } from "./handoffs.ts";
import type { StartProbe } from "../dns/probe.ts";
import type { Host } from "../host/host.ts";
import { selectIptables, startIptablesDumps } from "../steps/iptables_mode.ts";
import { fixMachineId } from "../steps/machine_id.ts";
import { fixMount } from "../steps/mounts.ts";
import { enableNetworkMagic } from "../dns/network_magic.ts";
import { fixProductName, fixProductUuid } from "../steps/product.ts";
import { configureProxy } from "../steps/proxy.ts";
import { after } from "../host/timer.ts";
import type { Step, StepContext } from "../steps/step.ts";
import { validateUserns } from "../steps/userns.ts";

/** What kind's steps learn before they run: the public context, the handoffs, the prober. */
export interface KindContext extends StepContext {
  /** What one step hands a later one (lib/boot/handoffs.ts). */
  readonly handoffs: Handoffs;
  /**
   * Loads the DNS prober for the check after the network magic (lib/dns/check.ts); absent in a
   * dry run, which sends no probe (the rules it would check were not really rewritten).
   */
  readonly loadProbe?: () => StartProbe | undefined;
}

/** A step as the runner sees it: the public `Step` plus what only kind's own steps use. */
export interface KindStep extends Step {
  run(host: Host, context: KindContext): void | Promise<void>;
  /**
   * Starts read-only work of this step before the first step runs, so that it overlaps the
   * steps before it; only for work whose result cannot depend on what those steps change.
   */
  prefetch?(host: Host, context: KindContext): void;
}

/** Every step, in the order kind runs them. */
export const STEPS: readonly KindStep[] = [
  {
    name: "userns",
    original: "validate_userns",
    run: (host, context) => Promise.resolve(validateUserns(host, context)),
  },
  {
    name: "containerd",
    original: "configure_containerd",
    run: (host, context) => configureContainerd(host, context),
  },
  {
    name: "proxy",
    original: "configure_proxy",
    run: (host) => Promise.resolve(configureProxy(host)),
  },
  { name: "mount", original: "fix_mount", run: (host, context) => fixMount(host, context) },
  { name: "cgroup", original: "fix_cgroup", run: (host, context) => fixCgroup(host, context) },
  {
    name: "machine_id",
    original: "fix_machine_id",
    run: (host, context) => fixMachineId(host, context),
  },
  {
    name: "product_name",
    original: "fix_product_name",
    run: (host, context) => fixProductName(host, context),
  },
  {
    name: "product_uuid",
    original: "fix_product_uuid",
    run: (host, context) => fixProductUuid(host, context),
  },
  {
    name: "iptables",
    original: "select_iptables",
    // The dumps only read the netfilter rule sets, and no step before select_iptables touches
    // netfilter (they write files, mounts and the machine-id), so they count what they would
    // count at kind's point in the order; their program starts overlap earlier steps.
    prefetch: (host, { handoffs }) => handoffs.iptablesDumps.give(startIptablesDumps(host)),
    run: async (host, { handoffs }) => {
      handoffs.iptables.give(await selectIptables(host, handoffs.iptablesDumps.take()));
    },
  },
  {
    name: "network_magic",
    original: "enable_network_magic",
    run: async (host, { handoffs, loadProbe }) => {
      const probe = handoffs.dnsCheckWanted.take() ? loadProbe : undefined;
      const iptables = handoffs.iptables.take();
      await enableNetworkMagic(host, {
        saved: iptables?.saved,
        afterResolvConf: probe && ((magic) => {
          handoffs.dnsCheck.give(startDnsCheck(host, magic, {
            start: loadedOrFailing(probe),
            iptablesMode: iptables?.mode,
          }));
        }),
      });
    },
  },
  {
    // Not in kind's script (so no `original`): waits for the answers to the queries network_magic
    // sent the nameserver it wrote (lib/dns/check.ts), and warns when there are none.
    name: "dns_check",
    prefetch: (host, context) => {
      context.handoffs.dnsCheckWanted.give(true);
      // The probe's first run costs more than its round trips (compiling, first FFI calls): a
      // rehearsal that sends nothing runs it while the main thread waits for an earlier step's
      // program (a timer fires only then), so the check itself costs about the round trips.
      // Nothing may escape a timer (it would be an uncaught exception before exec): a prober
      // that throws here is said in one WARN line.
      if (context.loadProbe) {
        after(0, () => {
          try {
            context.loadProbe?.()?.rehearse?.();
          } catch (error) {
            host.log("WARN", `DNS: the check's rehearsal failed: ${(error as Error).message}`);
          }
        });
      }
    },
    run: (_host, { handoffs }) => handoffs.dnsCheck.take()?.finish(),
  },
];

/**
 * `load()`, or, when loading throws (a libc binding that fails), a prober that throws the same
 * error when started: the DNS check then says in its WARN line that it could not run, and the
 * boot goes on, as it does for every other failure of the check.
 */
function loadedOrFailing(load: () => StartProbe | undefined): StartProbe | undefined {
  try {
    return load();
  } catch (error) {
    return () => {
      throw error;
    };
  }
}
