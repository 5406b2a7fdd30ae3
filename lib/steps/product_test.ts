import assert from "node:assert/strict";
import { EntrypointError } from "../errors.ts";
import {
  fixProductName,
  fixProductUuid,
  KIND_PRODUCT_UUID,
  PRODUCT_NAME,
  PRODUCT_UUID,
  RANDOM_UUID,
  VIRTUAL_PRODUCT_UUID,
} from "./product.ts";
import { FakeHost } from "../host/fake.ts";

const UUID = "4a1f6a4e-0c1b-4d5e-9a8f-2b3c4d5e6f70\n";

Deno.test("fixProductName() bind mounts a file reading kind over the DMI product name", async () => {
  const host = new FakeHost({ files: { [PRODUCT_NAME]: "Standard PC (Q35 + ICH9, 2009)\n" } });
  await fixProductName(host);
  assert.deepEqual(host.events, [
    { type: "log", level: "INFO", message: 'faking /sys/class/dmi/id/product_name to be "kind"' },
    { type: "write", path: "/kind/product_name", data: "kind\n" },
    { type: "mount", argv: ["mount", "-o", "ro,bind", "/kind/product_name", PRODUCT_NAME] },
  ]);
});

Deno.test("fixProductName() does nothing without DMI", async () => {
  const host = new FakeHost();
  await fixProductName(host);
  assert.deepEqual(host.events, []);
});

Deno.test("fixProductName() stops with mount's status when the bind mount fails", async () => {
  const host = new FakeHost({
    files: { [PRODUCT_NAME]: "x\n" },
    failingMounts: [`mount -o ro,bind /kind/product_name ${PRODUCT_NAME}`],
  });
  await assert.rejects(
    fixProductName(host),
    (error: unknown) => error instanceof EntrypointError && error.exitCode === 32,
  );
});

Deno.test("fixProductUuid() makes a UUID once and shows it in both DMI paths", async () => {
  const host = new FakeHost({
    files: { [RANDOM_UUID]: UUID, [PRODUCT_UUID]: "x\n", [VIRTUAL_PRODUCT_UUID]: "x\n" },
  });
  await fixProductUuid(host);
  assert.deepEqual(host.events, [
    { type: "write", path: KIND_PRODUCT_UUID, data: UUID },
    { type: "log", level: "INFO", message: "faking /sys/class/dmi/id/product_uuid to be random" },
    { type: "mount", argv: ["mount", "-o", "ro,bind", KIND_PRODUCT_UUID, PRODUCT_UUID] },
    {
      type: "log",
      level: "INFO",
      message: "faking /sys/devices/virtual/dmi/id/product_uuid as well",
    },
    { type: "mount", argv: ["mount", "-o", "ro,bind", KIND_PRODUCT_UUID, VIRTUAL_PRODUCT_UUID] },
  ]);
});

Deno.test("fixProductUuid() keeps the UUID of an earlier start", async () => {
  const host = new FakeHost({ files: { [KIND_PRODUCT_UUID]: UUID, [RANDOM_UUID]: "other\n" } });
  await fixProductUuid(host);
  assert.deepEqual(host.events, []);
  assert.equal(host.files.get(KIND_PRODUCT_UUID), UUID);
});

Deno.test("fixProductUuid() writes the UUID even without DMI, as kind does", async () => {
  const host = new FakeHost({ files: { [RANDOM_UUID]: UUID } });
  await fixProductUuid(host);
  assert.deepEqual(host.events, [{ type: "write", path: KIND_PRODUCT_UUID, data: UUID }]);
});

Deno.test("fixProductUuid() stops with status 1 when /kind/product_uuid cannot be written", async () => {
  const host = new FakeHost({ files: { [RANDOM_UUID]: UUID }, dirs: [KIND_PRODUCT_UUID] });
  await assert.rejects(
    fixProductUuid(host),
    (error: unknown) => error instanceof EntrypointError && error.exitCode === 1,
  );
});
