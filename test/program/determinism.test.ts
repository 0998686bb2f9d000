// The same stack evaluated in two processes gives the same resources, inputs and options: no
// timestamps, random values, map-order or per-process effects, so previews of an unchanged stack
// show no changes.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Registration } from "../../tools/offline/mockEngine.ts";
import { evaluate, runCli, shippedStacks } from "../helpers.ts";

describe("determinism", { concurrency: true }, () => {
  for (const stack of shippedStacks) {
    it(`evaluating ${stack} here and in another process registers identical resources`, async () => {
      const [here, elsewhere] = await Promise.all([evaluate(stack), runCli("test/support/evaluate.ts", [stack])]);
      assert.equal(elsewhere.status, 0, elsewhere.stderr);
      const { registrations } = JSON.parse(elsewhere.stdout) as { registrations: Registration[] };
      assert.ok(here.registrations.length > 10, `${here.registrations.length} registrations`);
      assert.deepEqual(registrations, JSON.parse(JSON.stringify(here.registrations)));
    });
  }
});
