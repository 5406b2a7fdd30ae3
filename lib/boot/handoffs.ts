/**
 * What kind's steps hand each other, typed and declared in one place: each handoff names the
 * step that gives its value and the step that takes it. The runner makes a fresh set for every
 * run (`newHandoffs`); a value is given once, and a step whose producer did not run (not
 * selected, or replaced in a custom entrypoint) takes undefined and does without.
 */
import type { BootCheck } from "../dns/check.ts";
import type { IptablesDumps, selectIptables } from "../steps/iptables_mode.ts";

/** One value one step hands a later one (or its own prefetch hands its run). */
export class Handoff<T> {
  #given = false;
  #value: T | undefined;

  /** `from` gives the value, `to` takes it: step names, for the error of a second give. */
  constructor(readonly from: string, readonly to: string) {}

  /** Called by the producer, once; a second call is a bug in the step list. */
  give(value: T): void {
    if (this.#given) throw new Error(`${this.from} gave ${this.to} its value twice`);
    this.#given = true;
    this.#value = value;
  }

  /** The value, or undefined when the producer has not given it. */
  take(): T | undefined {
    return this.#value;
  }
}

/** What select_iptables decided: the backend and, when network_magic can reuse it, its dump. */
export type IptablesSelection = Awaited<ReturnType<typeof selectIptables>>;

/** Every handoff between kind's steps (lib/boot/steps.ts). */
export interface Handoffs {
  /** The rule dumps select_iptables' prefetch started before the first step, for its run. */
  readonly iptablesDumps: Handoff<IptablesDumps>;
  /**
   * The backend select_iptables chose and its IPv4 dump: network_magic's `iptables-save` would
   * print the same (no step in between touches netfilter; Docker wrote its rules before the
   * container started), so it is not run a second time.
   */
  readonly iptables: Handoff<IptablesSelection>;
  /** dns_check's prefetch to network_magic: the check is to run, so network_magic starts it. */
  readonly dnsCheckWanted: Handoff<true>;
  /** The DNS check network_magic started once resolv.conf was written, for dns_check to finish. */
  readonly dnsCheck: Handoff<BootCheck | undefined>;
}

/** A fresh, empty set of handoffs for one run. */
export function newHandoffs(): Handoffs {
  return {
    iptablesDumps: new Handoff("iptables (prefetch)", "iptables"),
    iptables: new Handoff("iptables", "network_magic"),
    dnsCheckWanted: new Handoff("dns_check (prefetch)", "network_magic"),
    dnsCheck: new Handoff("network_magic", "dns_check"),
  };
}
