// The local registry in a whole stack (a fixture stack file evaluated as dev under the mock
// engine): one image reference for the nodes, Flux's scan and the stack file, the registry
// filled before anything pulls from it. Its scripts and resource options are in
// test/components/localRegistry.test.ts.
import assert from "node:assert/strict";
import * as path from "node:path";
import { describe, it } from "node:test";
import { registryImage } from "../../infra/settings/index.ts";
import { renderRegistrations } from "../../tools/offline/documents.ts";
import { evaluatedBefore, fixtures, only } from "../helpers.ts";
import { crdProblems, validateWithModel, type KubernetesObject } from "../support/schemas.ts";

const registryCommand = "command:local:Command";
const imageRepositoryType = "kubernetes:image.toolkit.fluxcd.io/v1:ImageRepository";
const deploymentType = "kubernetes:apps/v1:Deployment";

describe("a stack with its local registry on", () => {
  const evaluations = evaluatedBefore({
    registry: { stack: "dev", stackFile: path.join(fixtures, "stacks", "registry.yaml") },
    "registry-but-image-elsewhere": {
      stack: "dev",
      stackFile: path.join(fixtures, "stacks", "registry.yaml"),
      overrides: { server: { replicas: 3, image: "ricoberger/gitops-using-flux:master-84e319d" } },
    },
    shipped: { stack: "dev" },
    "shipped prod": { stack: "prod" },
    off: {
      stack: "dev",
      overrides: {
        cluster: { name: "gitops-dev", registry: { enabled: false } },
        server: { replicas: 3, image: "ricoberger/gitops-using-flux:master-84e319d-1580380800" },
      },
    },
  });
  const registrations = (name: string) => evaluations.get(name)!.registrations;
  const outputs = (name: string) => evaluations.get(name)!.outputs as unknown as Record<string, unknown>;
  const registry = (name: string) => only(registrations(name), registryCommand, "registry-container");
  const spec = (name: string, type: string) => (only(registrations(name), type).inputs as { spec: Record<string, unknown> }).spec;

  it("starts the registry beside the kind cluster, after it, filled with the talk's image under the stack's tag", () => {
    const kind = only(registrations("registry"), registryCommand, "cluster-kind");
    assert.ok(registry("registry").dependencies.includes(kind.urn));
    const environment = registry("registry").inputs.environment as Record<string, string>;
    assert.equal(environment.REGISTRY_IMAGE, registryImage);
    assert.equal(environment.REGISTRY_HOST, "gitops-dev-registry:5000");
    assert.equal(environment.REGISTRY_PORT, "5001");
    assert.equal(environment.SEED_FROM, "ricoberger/gitops-using-flux:master-84e319d");
    assert.equal(environment.SEED_TO, "ricoberger/gitops-using-flux:master-84e319d-1580380800");
  });

  it("has the server pull the stack's own reference, once the registry holds it", () => {
    const deployment = only(registrations("registry"), deploymentType);
    const containers = (deployment.inputs.spec as { template: { spec: { containers: { image: string }[] } } }).template.spec.containers;
    assert.equal(containers[0]!.image, "gitops-dev-registry:5000/ricoberger/gitops-using-flux:master-84e319d-1580380800");
    assert.ok(deployment.dependencies.includes(registry("registry").urn));
  });

  it("has Flux scan the same repository over plain HTTP, once the registry runs", () => {
    assert.deepEqual(spec("registry", imageRepositoryType), {
      image: "gitops-dev-registry:5000/ricoberger/gitops-using-flux",
      interval: "5m",
      insecure: true,
    });
    assert.ok(only(registrations("registry"), imageRepositoryType).dependencies.includes(registry("registry").urn));
  });

  it("renders objects the API server and the pinned Flux CRDs accept (ImageRepository, KEP-1755 ConfigMap)", async () => {
    const manifests = renderRegistrations(registrations("registry")).manifests as KubernetesObject[];
    const imageRepository = manifests.find((object) => object.kind === "ImageRepository")!;
    const configMap = manifests.find((object) => object.kind === "ConfigMap" && object.metadata.name === "local-registry-hosting")!;
    for (const object of [imageRepository, configMap]) await validateWithModel(object);
    assert.deepEqual(crdProblems(imageRepository), []);
  });

  it("says where it is in the stack outputs", () => {
    assert.equal(outputs("registry").localRegistry, "gitops-dev-registry:5000 (container gitops-dev-registry; push to localhost:5001)");
  });

  it("with the image elsewhere: the registry runs empty, and Flux scans the image's own registry over HTTPS", () => {
    assert.equal((registry("registry-but-image-elsewhere").inputs.environment as Record<string, string>).SEED_FROM, undefined);
    assert.equal(spec("registry-but-image-elsewhere", imageRepositoryType).insecure, undefined);
  });

  it("on as shipped: dev and prod each run their own, filled with the talk's image under the tag their stack file names", () => {
    for (const [name, host, port, seeded] of [
      ["shipped", "gitops-dev-registry:5000", "5001", "ricoberger/gitops-using-flux:master-84e319d-1580380800"],
      ["shipped prod", "gitops-prod-registry:5000", "5002", "ricoberger/gitops-using-flux:1.0.0"],
    ] as const) {
      const environment = registry(name).inputs.environment as Record<string, string>;
      assert.deepEqual([environment.REGISTRY_HOST, environment.REGISTRY_PORT, environment.SEED_TO], [host, port, seeded]);
      assert.equal(spec(name, imageRepositoryType).image, `${host}/ricoberger/gitops-using-flux`);
      assert.equal(spec(name, imageRepositoryType).insecure, true);
    }
  });

  it("off: no registry, no ConfigMap, nothing insecure", () => {
    assert.deepEqual(
      registrations("off")
        .filter((registration) => registration.name.startsWith("registry"))
        .map((registration) => registration.name),
      [],
    );
    assert.equal(spec("off", imageRepositoryType).insecure, undefined);
    assert.equal(outputs("off").localRegistry, undefined);
  });
});
