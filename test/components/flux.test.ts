// The Flux component under plain mocks: the flux2 chart as a Helm release, and the program's
// default values checked against the pinned chart's own values.yaml.
import assert from "node:assert/strict";
import * as path from "node:path";
import { describe, it } from "node:test";
import { Flux } from "../../infra/components/flux.ts";
import { fluxDefaultValues, projectRoot } from "../../infra/settings/index.ts";
import { fixtures, readYamlFile, unknownValuePaths } from "../helpers.ts";
import { build, providerReference } from "../support/components.ts";

const flux2Chart = readYamlFile(path.join(fixtures, "charts/flux2/Chart.yaml")) as { version: string };
const flux2Defaults = readYamlFile(path.join(projectRoot, "infra/settings/charts/flux2-values.yaml"));

describe("the Flux component", () => {
  it("installs the chart version it is given into the namespace Pulumi owns, waiting as long as it is told", async () => {
    const built = await build(
      (cluster) =>
        new Flux("flux", {
          namespace: "gitops-flux",
          chartVersion: "2.18.3",
          repository: "https://charts.example",
          values: { logLevel: "debug" },
          timeoutSeconds: 1234,
          cluster,
        }),
    );
    const release = built.only("kubernetes:helm.sh/v3:Release");
    const { name, chart, version, repositoryOpts, namespace, createNamespace, timeout } = release.inputs;
    assert.deepEqual(
      { name, chart, version, repositoryOpts, namespace, createNamespace, timeout },
      {
        name: "flux",
        chart: "flux2",
        version: "2.18.3",
        repositoryOpts: { repo: "https://charts.example" },
        namespace: "gitops-flux",
        createNamespace: false,
        timeout: 1234,
      },
    );
    assert.deepEqual(release.inputs.values, { logLevel: "debug" });
    assert.equal(release.provider, providerReference(built.cluster.provider));
    assert.equal(release.deletedWith, built.cluster.anchor.urn);
  });
});

describe("the program's flux2 values", () => {
  it(`set only keys flux2 ${flux2Chart.version}'s values.yaml has`, () => {
    assert.ok(Object.keys(fluxDefaultValues).length > 0);
    assert.deepEqual(unknownValuePaths(fluxDefaultValues, flux2Defaults), []);
  });

  it("turn the image automation controllers on and the chart's PodMonitor off (its CRD comes later, with Prometheus)", () => {
    assert.equal((fluxDefaultValues.imageReflectionController as { create: boolean }).create, true);
    assert.equal((fluxDefaultValues.imageAutomationController as { create: boolean }).create, true);
    assert.deepEqual(fluxDefaultValues.prometheus, { podMonitor: { create: false } });
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
