/**
 * A kind node entrypoint with two steps of its own after kind's containerd step: a registry
 * mirror for containerd and an extra CA certificate (see steps.ts). Build its image with
 * `npm run image` in this directory (once `npm install` has installed kind-entrypoint-ts), or
 * in a checkout of kind-entrypoint-ts with
 * `ENTRY=examples/registry-mirror/entrypoint.ts npm run image`.
 */
import { insertAfter, KIND_STEPS, main } from "kind-entrypoint-ts";
import { extraCa, registryMirror } from "./steps.ts";

await main(insertAfter(KIND_STEPS, "containerd", registryMirror, extraCa));
