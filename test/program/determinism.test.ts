// The same stack evaluated in two processes gives the same resources, inputs and options: no
// timestamps, random values, map-order or per-process effects, so previews of an unchanged stack
// show no changes.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Registration } from "../../tools/offline/mockEngine.ts";
import { evaluateAfresh, runCli, shippedStacks } from "../helpers.ts";

describe("determinism", () => {
  // One stack is enough: what could differ between processes (random values, map order) is the
  // same code for every stack.
  for (const stack of shippedStacks.slice(0, 1)) {
    it(`evaluating ${stack} here and in another process registers identical resources`, async () => {
      const [here, elsewhere] = await Promise.all([evaluateAfresh(stack), runCli("test/support/evaluate.ts", [stack])]);
      assert.equal(elsewhere.status, 0, elsewhere.stderr);
      const { registrations } = JSON.parse(elsewhere.stdout) as { registrations: Registration[] };
      assert.ok(here.registrations.length > 10, `${here.registrations.length} registrations`);
      assert.deepEqual(registrations, JSON.parse(JSON.stringify(here.registrations)));
    });
  }
});
