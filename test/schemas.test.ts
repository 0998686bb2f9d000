// Every object rendered for dev and prod against the upstream schemas.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { main as render } from "../tools/render.ts";
import { crdProblems, isFluxObject, validateWithModel, type KubernetesObject } from "./support/schemas.ts";
import { captureIo, readYamlDocuments, shippedStacks } from "./helpers.ts";

const clusterScoped = new Set(["Namespace", "ClusterRoleBinding"]);

for (const stack of shippedStacks) {
  describe(`${stack}: rendered objects`, () => {
    // What `npm run render` prints for the stack.
    let objects: KubernetesObject[] = [];
    before(async () => {
      const io = captureIo();
      assert.equal(await render([stack], io), 0, io.err());
      objects = readYamlDocuments(io.out()) as KubernetesObject[];
    });

    it("includes the server, Prometheus, the monitors and the image policies", () => {
      const kinds = new Set(objects.map((object) => object.kind));
      for (const kind of [
        "Deployment",
        "Service",
        "ServiceMonitor",
        "PodMonitor",
        "PrometheusRule",
        "FluxInstance",
        "HelmRepository",
        "HelmRelease",
        "ImageRepository",
        "ImagePolicy",
      ]) {
        assert.ok(kinds.has(kind), kind);
      }
    });

    it("every object validates against its kubernetes-models schema", async () => {
      assert.ok(objects.length >= 10);
      for (const object of objects) {
        await validateWithModel(object).catch((error: unknown) => {
          throw new Error(`${object.kind} ${object.metadata.namespace ?? ""}/${object.metadata.name}: ${String(error)}`);
        });
      }
    });

    it("every Flux object and the FluxInstance conform to the pinned Flux 2.9.4 and Flux Operator 0.58.1 CRDs, with no unknown field", () => {
      const fluxObjects = objects.filter(isFluxObject);
      assert.ok(fluxObjects.length >= 4);
      for (const object of fluxObjects) assert.deepEqual(crdProblems(object), [], `${object.kind} ${object.metadata.name}`);
    });

    it("uses only the current API versions", () => {
      const current = new Set([
        "v1",
        "apps/v1",
        "source.toolkit.fluxcd.io/v1",
        "kustomize.toolkit.fluxcd.io/v1",
        "helm.toolkit.fluxcd.io/v2",
        "image.toolkit.fluxcd.io/v1",
        "monitoring.coreos.com/v1",
        "fluxcd.controlplane.io/v1",
        "rbac.authorization.k8s.io/v1",
      ]);
      assert.deepEqual(
        objects.map((object) => object.apiVersion).filter((version) => !current.has(version)),
        [],
      );
    });

    it("sets metadata.namespace on every namespaced object", () => {
      assert.deepEqual(
        objects.filter((object) => !clusterScoped.has(object.kind) && !object.metadata.namespace).map((object) => object.kind),
        [],
      );
    });
  });
}

describe("the schema checks themselves", () => {
  const helmRelease = (spec: Record<string, unknown>): KubernetesObject => ({
    apiVersion: "helm.toolkit.fluxcd.io/v2",
    kind: "HelmRelease",
    metadata: { name: "x", namespace: "y" },
    spec: { interval: "10m", chart: { spec: { chart: "c", sourceRef: { kind: "HelmRepository", name: "r" } } }, ...spec },
  });

  it("reject a misspelt Flux field the API server would drop silently", () => {
    assert.deepEqual(crdProblems(helmRelease({ valuez: {} })), ["/spec: unknown field valuez"]);
    assert.deepEqual(crdProblems(helmRelease({ install: { crds: "CreateReplace", remedation: {} } })), [
      "/spec/install: unknown field remedation",
    ]);
  });

  it("accept anything under the chart values (preserved unknown fields)", () => {
    assert.deepEqual(crdProblems(helmRelease({ values: { any: { thing: true } } })), []);
  });

  it("reject a wrong enum value and a version Flux 2.9 no longer serves", () => {
    assert.deepEqual(crdProblems(helmRelease({ install: { crds: "Always" } })), [
      "/spec/install/crds: must be equal to one of the allowed values",
    ]);
    assert.deepEqual(crdProblems({ ...helmRelease({}), apiVersion: "helm.toolkit.fluxcd.io/v2beta1" }), [
      "no served CRD version for helm.toolkit.fluxcd.io/v2beta1 HelmRelease in Flux 2.9.4 or Flux Operator 0.58.1",
    ]);
  });

  it("reject a FluxInstance with a component the operator does not know, or a misspelt field", async () => {
    const instance = (spec: Record<string, unknown>): KubernetesObject => ({
      apiVersion: "fluxcd.controlplane.io/v1",
      kind: "FluxInstance",
      metadata: { name: "flux", namespace: "flux-system" },
      spec: { distribution: { version: "2.9.4", registry: "ghcr.io/fluxcd" }, ...spec },
    });
    assert.deepEqual(crdProblems(instance({ components: ["image-reflector-controller"] })), []);
    assert.deepEqual(crdProblems(instance({ components: ["image-reflection-controller"] })), [
      "/spec/components/0: must be equal to one of the allowed values",
    ]);
    await assert.rejects(validateWithModel(instance({ cluster: { sise: "small" } })), /\/spec\/cluster: unknown field sise/);
  });

  it("reject a monitor without its required endpoints field", async () => {
    const monitor: KubernetesObject = {
      apiVersion: "monitoring.coreos.com/v1",
      kind: "ServiceMonitor",
      metadata: { name: "x", namespace: "y" },
      spec: { selector: {} },
    };
    await assert.rejects(validateWithModel(monitor), /endpoints/);
  });
});
