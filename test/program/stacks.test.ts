// The whole program under Pulumi's mock engine, for each shipped stack: the properties of the
// stack as a whole (what is registered, one provider, deleted with the cluster, ordering,
// outputs). Each component's own behaviour is in test/components/.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import { mirrorsVariable } from "../../infra/shell/nodeRegistries.ts";
import { projectRoot } from "../../infra/settings/index.ts";
import type { Registration } from "../../tools/offline/mockEngine.ts";
import { loadStackConfig } from "../../tools/offline/stackConfig.ts";
import { evaluatedBefore, only, settle, shippedStacks } from "../helpers.ts";

const commandType = "command:local:Command";
const providerType = "pulumi:providers:kubernetes";
const inClusterTypes = (registrations: readonly Registration[]) =>
  registrations.filter((r) => r.custom && r.type.startsWith("kubernetes:"));

const expectedResources = [
  "command:local:Command cluster-kind",
  "command:local:Command git-server-container",
  "command:local:Command registry-container",
  "gitops:infra:Flux flux",
  "gitops:infra:GitSync git",
  "gitops:infra:ImagePolicies images",
  "gitops:infra:KindCluster cluster",
  "gitops:infra:LocalGitServer git-server",
  "gitops:infra:LocalRegistry registry",
  "gitops:infra:Monitoring monitoring",
  "gitops:infra:Namespaces namespaces",
  "gitops:infra:Server server",
  "kubernetes:apps/v1:Deployment server-deployment",
  "kubernetes:core/v1:ConfigMap registry-hosting",
  "kubernetes:core/v1:Namespace namespaces-flux",
  "kubernetes:core/v1:Namespace namespaces-monitoring",
  "kubernetes:core/v1:Namespace namespaces-server",
  "kubernetes:core/v1:Service server-service",
  "kubernetes:fluxcd.controlplane.io/v1:FluxInstance flux-instance",
  "kubernetes:helm.sh/v3:Release flux-operator",
  "kubernetes:helm.toolkit.fluxcd.io/v2:HelmRelease monitoring-prometheus",
  "kubernetes:image.toolkit.fluxcd.io/v1:ImagePolicy images-policy",
  "kubernetes:image.toolkit.fluxcd.io/v1:ImageRepository images-repository",
  "kubernetes:image.toolkit.fluxcd.io/v1:ImageUpdateAutomation git-image-updates",
  "kubernetes:kustomize.toolkit.fluxcd.io/v1:Kustomization git-kustomization",
  "kubernetes:monitoring.coreos.com/v1:PodMonitor monitoring-flux",
  "kubernetes:monitoring.coreos.com/v1:PrometheusRule monitoring-flux-alerts",
  "kubernetes:monitoring.coreos.com/v1:ServiceMonitor monitoring-flux-operator",
  "kubernetes:monitoring.coreos.com/v1:ServiceMonitor server-monitor",
  "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding flux-web-ui",
  "kubernetes:source.toolkit.fluxcd.io/v1:GitRepository git-repository",
  "kubernetes:source.toolkit.fluxcd.io/v1:HelmRepository monitoring-repository",
  "pulumi:providers:kubernetes cluster-provider",
];

// A suite of its own: the tests of every file run in one process, and a top-level hook would run for all of them.
describe("the shipped stacks as a whole", () => {
  const evaluations = evaluatedBefore({ dev: {}, prod: {} });
  const registrationsOf = (stack: string) => evaluations.get(stack)!.registrations;

  for (const stack of shippedStacks) {
    describe(`stack ${stack}`, () => {
      it("registers exactly the cluster, its provider, the namespaces, Flux and the workloads", () => {
        const names = registrationsOf(stack)
          .map((r) => `${r.type} ${r.name}`)
          .sort();
        assert.deepEqual(names, expectedResources);
      });

      it("gives every Kubernetes resource the cluster's provider, and only that one", () => {
        const provider = only(registrationsOf(stack), providerType);
        const inCluster = inClusterTypes(registrationsOf(stack));
        assert.ok(inCluster.length >= 4);
        for (const registration of inCluster) {
          assert.equal(registration.provider, `${provider.urn}::${provider.name}-id`, registration.name);
        }
      });

      it("deletes everything inside the cluster with the cluster", () => {
        const kind = only(registrationsOf(stack), commandType, "cluster-kind");
        const inCluster = inClusterTypes(registrationsOf(stack));
        // Every object in expectedResources that lives in the cluster: 17 of them.
        assert.equal(inCluster.length, expectedResources.filter((entry) => entry.startsWith("kubernetes:")).length);
        for (const registration of inCluster) {
          assert.equal(registration.deletedWith, kind.urn, registration.name);
        }
      });

      it("builds the provider from kind's kubeconfig, as a secret, replaced with the cluster", () => {
        const provider = only(registrationsOf(stack), providerType);
        assert.deepEqual(provider.secretInputs, ["kubeconfig"]);
        assert.equal(provider.inputs.clusterIdentifier, "cluster-kind-id");
        assert.equal(provider.inputs.context, `kind-gitops-${stack}`);
      });

      it("runs kind for its own cluster name and kubeconfig file, in the project folder", () => {
        const kind = only(registrationsOf(stack), commandType, "cluster-kind");
        assert.deepEqual(kind.inputs.environment, {
          KIND_CLUSTER_NAME: `gitops-${stack}`,
          KIND_KUBECONFIG: path.join(".kube", `gitops-${stack}.yaml`),
          KIND_WAIT: "5m",
          PULUMI_STACK_NAME: stack,
          // The shipped stacks pull through the machine's mirrors (cluster.mirrors defaults to true).
          USE_MIRRORS: "true",
          MIRRORS: mirrorsVariable,
          BASH_ENV: "",
        });
        assert.equal(kind.inputs.dir, projectRoot);
      });

      it("installs the pinned Flux Operator into the Pulumi-owned flux-system namespace, and Flux 2.9.4 with it", () => {
        const release = only(registrationsOf(stack), "kubernetes:helm.sh/v3:Release");
        assert.equal(release.inputs.chart, "oci://ghcr.io/controlplaneio-fluxcd/charts/flux-operator");
        assert.equal(release.inputs.version, "0.58.1");
        assert.equal(release.inputs.namespace, "flux-system");
        assert.equal(release.inputs.createNamespace, false);
        assert.ok((release.inputs.timeout as number) >= 600);
        const fluxNamespace = only(registrationsOf(stack), "kubernetes:core/v1:Namespace", "namespaces-flux");
        assert.ok(release.dependencies.includes(fluxNamespace.urn), "the release waits for its namespace");
        const instance = only(registrationsOf(stack), "kubernetes:fluxcd.controlplane.io/v1:FluxInstance");
        assert.deepEqual((instance.inputs.spec as { distribution: unknown }).distribution, {
          version: "2.9.4",
          registry: "ghcr.io/fluxcd",
        });
        assert.equal((instance.inputs.metadata as { namespace: string }).namespace, "flux-system");
      });

      it("exports the cluster name, a secret kubeconfig, the context and the Flux install", async () => {
        const outputs = evaluations.get(stack)!.outputs!;
        assert.equal(outputs.clusterName, `gitops-${stack}`);
        assert.equal(outputs.kubectlContext, `kind-gitops-${stack}`);
        assert.equal(outputs.kubeconfigExport, `export KUBECONFIG=${path.join(projectRoot, ".kube", `gitops-${stack}.yaml`)}`);
        assert.equal(outputs.fluxVersion, "2.9.4");
        assert.equal(outputs.fluxOperatorVersion, "0.58.1");
        assert.equal(outputs.fluxWebUi, `npm run ui -- ${stack}`);
        assert.equal(await settle(outputs.fluxNamespace), "flux-system");
        assert.equal(await pulumi.isSecret(outputs.kubeconfig), true);
        assert.equal(pulumi.Output.isInstance(outputs.kubeconfig), true);
      });
    });
  }

  describe("dev and prod", () => {
    const kindConfig = (stack: string) =>
      YAML.parse(only(registrationsOf(stack), commandType, "cluster-kind").inputs.stdin as string) as { nodes: { role: string }[] };

    it("differ in the kind node layout exactly as the stack files say (prod: two workers)", () => {
      assert.deepEqual(
        kindConfig("dev").nodes.map((node) => node.role),
        ["control-plane"],
      );
      assert.deepEqual(
        kindConfig("prod").nodes.map((node) => node.role),
        ["control-plane", "worker", "worker"],
      );
      const { nodes: devNodes, ...devRest } = kindConfig("dev");
      const { nodes: prodNodes, ...prodRest } = kindConfig("prod");
      assert.deepEqual(devRest, prodRest);
      assert.deepEqual(prodNodes[0], devNodes[0]);
    });

    it("run side by side: distinct cluster names, kubeconfig files and host ports (their local registries' too)", () => {
      const environments = shippedStacks.map(
        (stack) => only(registrationsOf(stack), commandType, "cluster-kind").inputs.environment as Record<string, string>,
      );
      assert.equal(new Set(environments.map((env) => env.KIND_CLUSTER_NAME)).size, shippedStacks.length);
      assert.equal(new Set(environments.map((env) => env.KIND_KUBECONFIG)).size, shippedStacks.length);
      const hostPorts = shippedStacks.flatMap((stack) =>
        (kindConfig(stack).nodes as { extraPortMappings?: { hostPort: number }[] }[]).flatMap((node) =>
          (node.extraPortMappings ?? []).map((mapping) => mapping.hostPort),
        ),
      );
      const registryPorts = shippedStacks.map(
        (stack) =>
          (only(registrationsOf(stack), commandType, "registry-container").inputs.environment as Record<string, string>).REGISTRY_PORT,
      );
      assert.deepEqual(registryPorts, ["5001", "5002"]);
      assert.equal(new Set([...hostPorts, ...registryPorts.map(Number)]).size, hostPorts.length + registryPorts.length);
    });

    it("differ in the FluxInstance exactly as the stack files' flux settings say (dev: debug logs; prod: keeps the CRDs)", () => {
      const patchesOf = (stack: string) =>
        (
          only(registrationsOf(stack), "kubernetes:fluxcd.controlplane.io/v1:FluxInstance").inputs.spec as {
            kustomize: { patches: { target: { kind: string }; patch: string }[] };
          }
        ).kustomize.patches;
      const dev = patchesOf("dev");
      const prod = patchesOf("prod");
      const onlyIn = (some: typeof dev, other: typeof dev) =>
        some.filter((patch) => !other.some((candidate) => JSON.stringify(candidate) === JSON.stringify(patch)));
      const devOnly = onlyIn(dev, prod);
      const prodOnly = onlyIn(prod, dev);
      assert.equal(devOnly.length, 1);
      assert.equal(devOnly[0]!.target.kind, "Deployment");
      assert.match(devOnly[0]!.patch, /--log-level=debug/);
      assert.equal(prodOnly.length, 1);
      assert.equal(prodOnly[0]!.target.kind, "CustomResourceDefinition");
      assert.match(prodOnly[0]!.patch, /fluxcd\.controlplane\.io~1prune/);
      assert.deepEqual(onlyIn(dev, devOnly), onlyIn(prod, prodOnly));
    });
  });

  describe("the configuration the Pulumi CLI hands each stack", () => {
    // With it, the engine refuses any Kubernetes resource without an explicit provider, so nothing
    // can fall back to ~/.kube/config; a stack file could override it.
    for (const stack of shippedStacks) {
      it(`${stack}: disables the default Kubernetes provider`, () => {
        const { config } = loadStackConfig(stack);
        assert.deepEqual(JSON.parse(config["pulumi:disable-default-providers"] ?? "null"), ["kubernetes"]);
      });
    }
  });

  describe("the shipped stack files", () => {
    // Flux's image updates re-encode the file they edit (kyaml): comments and key order stay,
    // blank lines inside a mapping and extra spaces after a colon do not. Files already in that
    // form get one-line commits from Flux.
    for (const stack of shippedStacks) {
      it(`Pulumi.${stack}.yaml is in the form Flux's write-back leaves it, so its commits change one line`, () => {
        const lines = fs.readFileSync(path.join(projectRoot, `Pulumi.${stack}.yaml`), "utf8").split("\n");
        const body = lines.slice(lines.findIndex((line) => line.startsWith("config:")) + 1, lines.at(-1) === "" ? -1 : undefined);
        assert.deepEqual(
          body.filter((line) => line.trim() === ""),
          [],
          "no blank line inside config:",
        );
        const code = (line: string) => line.replace(/\s#.*$/, "");
        assert.deepEqual(
          body.filter((line) => /:\s{2,}\S/.test(code(line))),
          [],
          "one space after a colon",
        );
        assert.deepEqual(
          body.filter((line) => (line.length - line.trimStart().length) % 2 !== 0),
          [],
          "two-space indentation",
        );
      });
    }
  });
});
