// Every Helm value the program sets must exist in the pinned chart's default values
// (neither chart ships a values.schema.json): a misspelt key would be ignored by Helm.
import assert from "node:assert/strict";
import * as path from "node:path";
import { describe, it } from "node:test";
import { evaluate, fixtures, fluxValues, readYamlFile, shippedStacks, unknownValuePaths } from "./helpers";

const flux2Chart = readYamlFile(path.join(fixtures, "charts/flux2/Chart.yaml")) as { version: string };
const flux2Defaults = readYamlFile(path.join(fixtures, "charts/flux2/values.yaml"));

describe("flux2 chart values", () => {
  for (const stack of shippedStacks) {
    it(`${stack}: every key exists in flux2 ${flux2Chart.version}'s values.yaml`, async () => {
      const evaluation = await evaluate(stack);
      const values = fluxValues(evaluation);
      assert.ok(Object.keys(values).length > 0);
      assert.deepEqual(unknownValuePaths(values, flux2Defaults), []);
    });
  }

  it("the fixture is the chart version the program pins", async () => {
    const evaluation = await evaluate("dev");
    const release = evaluation.registrations.find((r) => r.type === "kubernetes:helm.sh/v3:Release");
    assert.equal(release?.inputs.version, flux2Chart.version);
  });

  it("the check catches a misspelt key and allows free-form maps", () => {
    const values = {
      imageReflectorController: { create: true },
      helmController: { resource: {}, annotations: { "any.key/is": "fine" } },
      crds: { annotations: { "helm.sh/resource-policy": "keep" } },
    };
    assert.deepEqual(unknownValuePaths(values, flux2Defaults), ["imageReflectorController", "helmController.resource"]);
  });
});
