// The KindCluster component under plain mocks: the kind Command and the provider it registers,
// the cluster's config, and how to reach the cluster. Its scripts, run by bash:
// kindClusterScripts.test.ts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import { kindClusterConfig } from "../../infra/components/kindCluster.ts";
import { mirrorsVariable } from "../../infra/shell/nodeRegistries.ts";
import { builtKindCluster, clusterArgs } from "../support/kindCluster.ts";
import { settle } from "../helpers.ts";

// A suite of its own: the tests of every file run in one process, and a top-level hook would run for all of them.
describe("the KindCluster component under plain mocks", () => {
  const { built, kindCommand, script, interpreter } = builtKindCluster();

  describe("the KindCluster component", () => {
    it("runs kind through bash without rc files, in the project folder, with a no-op update and delete-before-replace", () => {
      const kind = kindCommand();
      assert.deepEqual(interpreter(), ["/bin/bash", "--norc", "--noprofile", "-c"]);
      assert.equal(kind.inputs.dir, "/projects/gitops");
      assert.equal(kind.deleteBeforeReplace, true, "the name is fixed: the old cluster must go first");
      assert.equal(kind.inputs.addPreviousOutputInEnv, false);
    });

    it("keeps the kubeconfig secret: stdout is a secret output and never logged", () => {
      const kind = kindCommand();
      assert.deepEqual(kind.additionalSecretOutputs, ["stdout"]);
      assert.equal(kind.inputs.logging, "stderr");
    });

    it("passes its parameters in the environment, so the scripts stored in state never change with them", () => {
      assert.deepEqual(kindCommand().inputs.environment, {
        KIND_CLUSTER_NAME: "gitops-dev",
        KIND_KUBECONFIG: ".kube/gitops-dev.yaml",
        KIND_WAIT: "5m",
        PULUMI_STACK_NAME: "dev",
        USE_MIRRORS: "false",
        MIRRORS: mirrorsVariable,
        BASH_ENV: "",
      });
      for (const name of ["create", "update", "delete"] as const) assert.doesNotMatch(script(name), /gitops-dev|5m/, name);
    });

    it("replaces the cluster when its name or shape changes, and only then", () => {
      const kind = kindCommand();
      const config = YAML.parse(kind.inputs.stdin as string) as unknown;
      assert.deepEqual(config, {
        kind: "Cluster",
        apiVersion: "kind.x-k8s.io/v1alpha4",
        containerdConfigPatches: ['[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/etc/containerd/certs.d"'],
        nodes: [
          {
            role: "control-plane",
            image: clusterArgs.nodeImage,
            extraPortMappings: [{ containerPort: 30080, hostPort: 18080, listenAddress: "127.0.0.1", protocol: "TCP" }],
          },
          { role: "worker", image: clusterArgs.nodeImage },
          { role: "worker", image: clusterArgs.nodeImage },
        ],
      });
      assert.deepEqual(kind.inputs.triggers, ["gitops-dev", kind.inputs.stdin]);
    });

    it("builds the one provider from kind's kubeconfig, as a secret, on kind's context, replaced with the cluster", () => {
      const provider = built().only("pulumi:providers:kubernetes", "cluster-provider");
      assert.deepEqual(provider.secretInputs, ["kubeconfig"]);
      assert.equal(provider.inputs.context, "kind-gitops-dev");
      assert.equal(provider.inputs.clusterIdentifier, "cluster-kind-id", "the Command's id: a new cluster, a new provider");
    });

    it("says how to reach the cluster: its kubeconfig file, context and export line", async () => {
      const { component } = built();
      assert.equal(component.kubeconfigPath, "/projects/gitops/.kube/gitops-dev.yaml");
      assert.equal(component.contextName, "kind-gitops-dev");
      assert.equal(component.kubeconfigExport, "export KUBECONFIG=/projects/gitops/.kube/gitops-dev.yaml");
      assert.equal(await pulumi.isSecret(component.kubeconfig), true);
      // What everything in the cluster is deleted with is the kind cluster's own Command.
      assert.equal(await settle(component.deletedWith.urn), built().only("command:local:Command", "cluster-kind").urn);
    });
  });

  describe("kind cluster config", () => {
    const image = clusterArgs.nodeImage;

    it("tells containerd on any node image where the registries' hosts.toml files are (kind's documented patch)", () => {
      // containerd before 2.2 (node images older than kind v0.32's) reads them only where config_path is set.
      const { containerdConfigPatches } = kindClusterConfig({ nodeImage: "kindest/node:v1.30.0", workers: 0 });
      assert.deepEqual(containerdConfigPatches, [
        '[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/etc/containerd/certs.d"',
      ]);
    });

    it("is one control plane plus the workers, all on the pinned image, with no port mappings unless asked", () => {
      assert.deepEqual(kindClusterConfig({ nodeImage: image, workers: 1 }), {
        kind: "Cluster",
        apiVersion: "kind.x-k8s.io/v1alpha4",
        containerdConfigPatches: ['[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/etc/containerd/certs.d"'],
        nodes: [
          { role: "control-plane", image },
          { role: "worker", image },
        ],
      });
    });
  });
});
