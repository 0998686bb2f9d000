// The same stack evaluated twice gives the same resources, inputs and options: no timestamps,
// random values or map-order effects, so previews of an unchanged stack show no changes.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { evaluate, shippedStacks } from "../helpers.ts";

describe("determinism", () => {
  for (const stack of shippedStacks) {
    it(`evaluating ${stack} twice registers identical resources`, async () => {
      const first = await evaluate(stack);
      const second = await evaluate(stack);
      assert.ok(first.registrations.length > 0);
      assert.deepEqual(JSON.stringify(second.registrations), JSON.stringify(first.registrations));
    });
  }
});
