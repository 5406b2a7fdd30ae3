/**
 * kind-entrypoint-ts: the program every kind node runs as PID 1 before systemd.
 * Usage: entrypoint /sbin/init [ARGS...]
 * KIND_ENTRYPOINT_DRY_RUN=1 prints what it would change instead of changing it.
 *
 * Built on the public API exactly like a custom entrypoint (mod.ts), with kind's steps.
 */
import { KIND_STEPS, main } from "./mod.ts";

await main(KIND_STEPS);
