// The Flux component under plain mocks: Flux Operator from its chart, and the FluxInstance, checked
// against the operator's CRD; its patches applied to Flux 2.9.4's own manifests, as the operator's
// kustomize build would; the chart values checked against the chart's values.yaml.
import assert from "node:assert/strict";
import * as path from "node:path";
import { describe, it } from "node:test";
import Ajv2019Module from "ajv/dist/2019.js";
import jsonPatch from "fast-json-patch";
import * as YAML from "yaml";
import { Flux, fluxComponents, fluxOperatorValues, fluxPatches, webUiGroup } from "../../infra/components/flux.ts";
import { mergeValues, type HelmValues } from "../../infra/settings/index.ts";
import { fixtures, readYamlDocuments, readYamlFile, unknownValuePaths } from "../helpers.ts";
import { build, providerReference } from "../support/components.ts";
import { crdProblems, type KubernetesObject } from "../support/schemas.ts";
import * as fs from "node:fs";

// The newest flux-operator chart whose values.yaml could be read here is 0.49.0; the program pins
// 0.58.1 (test/fixtures/README.md says why).
const operatorChart = readYamlFile(path.join(fixtures, "charts/flux-operator/Chart.yaml")) as { version: string };
const operatorDefaults = readYamlFile(path.join(fixtures, "charts/flux-operator/values.yaml")) as HelmValues;
const operatorSchema = JSON.parse(fs.readFileSync(path.join(fixtures, "charts/flux-operator/values.schema.json"), "utf8")) as object;
const fluxDeployments = readYamlDocuments(fs.readFileSync(path.join(fixtures, "flux-2.9.4/deployments.yaml"), "utf8")) as {
  metadata: { name: string };
  spec: { template: { spec: { containers: { args: string[]; resources: { requests: unknown } }[] } } };
}[];
const crdFixture = readYamlFile(path.join(fixtures, "flux-crds/image.toolkit.fluxcd.io_imagepolicies.yaml")) as {
  metadata: { annotations: Record<string, string> };
};

const settings = { version: "2.9.4", operatorVersion: "0.58.1", timeoutSeconds: 1234 } as const;

async function buildFlux(overrides: Partial<{ logLevel: "info" | "debug" | "error"; keepCrds: boolean }> = {}) {
  return build(
    (cluster) => new Flux("flux", { ...settings, logLevel: "info", keepCrds: false, ...overrides, namespace: "gitops-flux", cluster }),
  );
}

/** What the operator's kustomize build makes of an object with the instance's patches that target it. */
function patched<T extends object>(object: T & { kind?: string }, kind: string, patches: ReturnType<typeof fluxPatches>): T {
  const targeting = patches.filter((patch) => patch.target?.kind === kind);
  return targeting.reduce(
    (current, { patch }) => jsonPatch.applyPatch(current, YAML.parse(patch) as jsonPatch.Operation[], true, false).newDocument,
    structuredClone(object),
  );
}

describe("the Flux component", () => {
  it("installs the operator chart it is given into the namespace Pulumi owns, waiting as long as it is told", async () => {
    const built = await buildFlux();
    const release = built.only("kubernetes:helm.sh/v3:Release");
    const { name, chart, version, namespace, createNamespace, timeout, values } = release.inputs;
    assert.deepEqual(
      { name, chart, version, namespace, createNamespace, timeout, values },
      {
        name: "flux-operator",
        chart: "oci://ghcr.io/controlplaneio-fluxcd/charts/flux-operator",
        version: "0.58.1",
        namespace: "gitops-flux",
        createNamespace: false,
        timeout: 1234,
        values: fluxOperatorValues,
      },
    );
    assert.equal(release.provider, providerReference(built.cluster.provider));
    assert.equal(release.deletedWith, built.cluster.anchor.urn);
  });

  it("has the operator install the pinned Flux with the demo's six controllers, and waits for it to be Ready", async () => {
    const built = await buildFlux();
    const instance = built.only("kubernetes:fluxcd.controlplane.io/v1:FluxInstance");
    const object = {
      apiVersion: instance.inputs.apiVersion,
      kind: instance.inputs.kind,
      metadata: instance.inputs.metadata,
      spec: instance.inputs.spec,
    };
    assert.deepEqual(crdProblems(object as KubernetesObject), []);
    const spec = instance.inputs.spec as { distribution: unknown; components: string[] };
    assert.deepEqual(spec.distribution, { version: "2.9.4", registry: "ghcr.io/fluxcd" });
    assert.deepEqual([...spec.components].sort(), [
      "helm-controller",
      "image-automation-controller",
      "image-reflector-controller",
      "kustomize-controller",
      "notification-controller",
      "source-controller",
    ]);
    const metadata = instance.inputs.metadata as { name: string; namespace: string; annotations: Record<string, string> };
    assert.equal(metadata.name, "flux");
    assert.equal(metadata.namespace, "gitops-flux");
    assert.equal(metadata.annotations["pulumi.com/waitFor"], "condition=Ready");
    assert.equal(metadata.annotations["pulumi.com/timeoutSeconds"], "1234");
    assert.equal(metadata.annotations["fluxcd.controlplane.io/reconcileTimeout"], "1234s");
    // The instance's CRD comes with the operator's chart.
    assert.ok(instance.dependencies.includes(built.only("kubernetes:helm.sh/v3:Release").urn));
    assert.equal(instance.deletedWith, built.cluster.anchor.urn);
  });

  it("binds the web UI's anonymous group to the chart's flux-web-admin role", async () => {
    const built = await buildFlux();
    const binding = built.only("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding");
    assert.deepEqual(binding.inputs.subjects, [{ kind: "Group", name: webUiGroup, apiGroup: "rbac.authorization.k8s.io" }]);
    assert.deepEqual(binding.inputs.roleRef, { kind: "ClusterRole", name: "flux-web-admin", apiGroup: "rbac.authorization.k8s.io" });
    const anonymous = (fluxOperatorValues.web as { config: { authentication: { anonymous: { groups: string[] } } } }).config.authentication
      .anonymous;
    assert.deepEqual(anonymous.groups, [webUiGroup]);
  });
});

describe("the FluxInstance's patches, applied to Flux 2.9.4's manifests", () => {
  it("cover the six controllers the instance installs", () => {
    assert.deepEqual(fluxDeployments.map((deployment) => deployment.metadata.name).sort(), [...fluxComponents].sort());
  });

  it("give every controller the demo's 50m/64Mi requests, and leave --log-level=info alone at info", () => {
    for (const deployment of fluxDeployments) {
      const container = patched(deployment, "Deployment", fluxPatches({ logLevel: "info", keepCrds: false })).spec.template.spec
        .containers[0]!;
      assert.deepEqual(container.resources.requests, { cpu: "50m", memory: "64Mi" }, deployment.metadata.name);
      assert.deepEqual(
        container.args.filter((arg) => arg.startsWith("--log-level")),
        ["--log-level=info"],
        deployment.metadata.name,
      );
    }
  });

  it("make every controller's last --log-level the environment's (the flag's last value wins)", () => {
    for (const deployment of fluxDeployments) {
      const { args } = patched(deployment, "Deployment", fluxPatches({ logLevel: "debug", keepCrds: false })).spec.template.spec
        .containers[0]!;
      assert.equal(args.filter((arg) => arg.startsWith("--log-level")).at(-1), "--log-level=debug", deployment.metadata.name);
    }
  });

  it("mark Flux's CRDs to be kept when keepCrds is on, and only then", () => {
    const kept = patched(crdFixture, "CustomResourceDefinition", fluxPatches({ logLevel: "info", keepCrds: true }));
    assert.equal(kept.metadata.annotations["fluxcd.controlplane.io/prune"], "disabled");
    const plain = patched(crdFixture, "CustomResourceDefinition", fluxPatches({ logLevel: "info", keepCrds: false }));
    assert.equal(plain.metadata.annotations["fluxcd.controlplane.io/prune"], undefined);
  });
});

describe("the program's flux-operator values", () => {
  it(`set only keys flux-operator ${operatorChart.version}'s values.yaml has`, () => {
    assert.ok(Object.keys(fluxOperatorValues).length > 0);
    assert.deepEqual(unknownValuePaths(fluxOperatorValues, operatorDefaults), []);
  });

  it("pass the chart's values.schema.json once merged over its defaults, as Helm checks them", () => {
    const Ajv2019 = Ajv2019Module.default;
    const validate = new Ajv2019({ strict: false, allErrors: true }).compile(operatorSchema);
    assert.ok(validate(mergeValues(operatorDefaults, fluxOperatorValues)), JSON.stringify(validate.errors));
    // The check can fail: a value of the wrong type.
    assert.equal(validate(mergeValues(operatorDefaults, { serviceMonitor: { create: "no" } })), false);
  });

  it("the check catches a misspelt key and allows the free-form web.config", () => {
    const values = { web: { config: { anything: { goes: true } }, enable: true }, serviceMonitor: { crate: false } };
    assert.deepEqual(unknownValuePaths(values, operatorDefaults), ["web.enable", "serviceMonitor.crate"]);
  });
});
