// Environments beyond dev and prod: a stack on an existing cluster, and a new environment
// added as one file.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import { projectRoot } from "../../infra/settings/index.ts";
import { main as render } from "../../tools/render.ts";
import { captureIo, evaluate, evaluatedBefore, fixtures, only, projectCopy, readYamlDocuments } from "../helpers.ts";
import { crdProblems, isFluxObject, validateWithModel, type KubernetesObject } from "../support/schemas.ts";

const fixture = (name: string) => path.join(fixtures, "stacks", `${name}.yaml`);

describe("a stack on an existing cluster", () => {
  const evaluations = evaluatedBefore({
    "existing-path": { stack: "dev", stackFile: fixture("existing-path") },
    "existing-secret": { stack: "dev", stackFile: fixture("existing-secret") },
  });

  for (const name of ["existing-path", "existing-secret"]) {
    it(`${name}: runs no kind command and deletes nothing "with" a cluster it does not own`, () => {
      const registrations = evaluations.get(name)!.registrations;
      assert.deepEqual(
        registrations.filter((r) => r.type === "command:local:Command"),
        [],
      );
      assert.deepEqual(
        registrations.filter((r) => r.deletedWith !== "").map((r) => r.name),
        [],
      );
      assert.ok(
        registrations.some((r) => r.type === "kubernetes:apps/v1:Deployment"),
        "the same components are deployed",
      );
    });

    it(`${name}: gives every Kubernetes resource the provider built from the given kubeconfig, kept secret`, async () => {
      const registrations = evaluations.get(name)!.registrations;
      const provider = only(registrations, "pulumi:providers:kubernetes");
      assert.deepEqual(provider.secretInputs, ["kubeconfig"]);
      for (const registration of registrations.filter((r) => r.custom && r.type.startsWith("kubernetes:"))) {
        assert.equal(registration.provider, `${provider.urn}::${provider.name}-id`, registration.name);
      }
      assert.equal(await pulumi.isSecret(evaluations.get(name)!.outputs!.kubeconfig), true);
    });
  }

  it("uses the kubeconfig file and the context it is given", () => {
    const provider = only(evaluations.get("existing-path")!.registrations, "pulumi:providers:kubernetes");
    assert.equal(provider.inputs.context, "team-cluster");
    assert.equal(provider.inputs.clusterIdentifier, "team-cluster", "replaced only when the cluster (context) changes");
    const outputs = evaluations.get("existing-path")!.outputs!;
    assert.equal(outputs.clusterName, "team-cluster");
    assert.equal(outputs.kubeconfigExport, `export KUBECONFIG=${path.join(projectRoot, "test/fixtures/kubeconfig-existing.yaml")}`);
  });

  it("uses the kubeconfig from secret config, with its current context", () => {
    const provider = only(evaluations.get("existing-secret")!.registrations, "pulumi:providers:kubernetes");
    assert.equal(provider.inputs.context, undefined);
    assert.equal(evaluations.get("existing-secret")!.outputs!.kubectlContext, "(the kubeconfig's current context)");
  });

  it("renders no kind cluster config, and no credential", async () => {
    const copy = projectCopy({
      "Pulumi.team.yaml": fs.readFileSync(fixture("existing-path"), "utf8"),
      "test/fixtures/kubeconfig-existing.yaml": fs.readFileSync(path.join(fixtures, "kubeconfig-existing.yaml"), "utf8"),
    });
    try {
      const io = captureIo({ root: copy.root });
      assert.equal(await render(["team", "--out", path.join(copy.root, "out/team")], io), 0, io.err());
      assert.deepEqual(fs.readdirSync(path.join(copy.root, "out/team")).sort(), ["helm-releases.yaml", "manifests.yaml"]);
      assert.doesNotMatch(fs.readFileSync(path.join(copy.root, "out/team/manifests.yaml"), "utf8"), /not-a-real-token/);
    } finally {
      copy.remove();
    }
  });
});

describe("a new environment is one file", () => {
  it("Pulumi.staging.yaml renders and validates like dev and prod, with no code change", async () => {
    const copy = projectCopy({ "Pulumi.staging.yaml": fs.readFileSync(fixture("staging"), "utf8") });
    try {
      const io = captureIo({ root: copy.root });
      assert.equal(await render(["staging", "--out", path.join(copy.root, "out/staging")], io), 0, io.err());
      const objects = readYamlDocuments(fs.readFileSync(path.join(copy.root, "out/staging/manifests.yaml"), "utf8")) as KubernetesObject[];
      for (const object of objects) await validateWithModel(object);
      // Without Git sync: the FluxInstance, Prometheus' chart source and release, and the server's image policy.
      const fluxObjects = objects.filter(isFluxObject);
      assert.deepEqual(fluxObjects.map((object) => object.kind).sort(), [
        "FluxInstance",
        "HelmRelease",
        "HelmRepository",
        "ImagePolicy",
        "ImageRepository",
      ]);
      for (const object of fluxObjects) assert.deepEqual(crdProblems(object), [], object.kind);
      const deployment = objects.find((object) => object.kind === "Deployment") as KubernetesObject & { spec: { replicas: number } };
      assert.equal(deployment.spec.replicas, 2);
      const policy = objects.find((object) => object.kind === "ImagePolicy") as KubernetesObject & { spec: { policy: unknown } };
      assert.deepEqual(policy.spec.policy, { semver: { range: ">=1.0.0-0" } });
      const kindCluster = YAML.parse(fs.readFileSync(path.join(copy.root, "out/staging/kind-cluster.yaml"), "utf8")) as {
        nodes: unknown[];
      };
      assert.equal(kindCluster.nodes.length, 2);
      // Its own cluster, next to dev's and prod's.
      const stagingSettings = await evaluate("dev", { stackFile: fixture("staging") });
      const kind = only(stagingSettings.registrations, "command:local:Command");
      assert.equal((kind.inputs.environment as Record<string, string>).KIND_CLUSTER_NAME, "gitops-staging");
    } finally {
      copy.remove();
    }
  });
});
