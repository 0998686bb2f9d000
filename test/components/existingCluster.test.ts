// The ExistingCluster component under plain mocks: a provider for a cluster the stack does not own.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { ExistingCluster } from "../../infra/components/existingCluster.ts";
import { build } from "../support/components.ts";

const kubeconfig = () => pulumi.secret("apiVersion: v1\nkind: Config\n");

describe("the ExistingCluster component", () => {
  it("builds the provider from the kubeconfig file's named context, replaced only when the context changes", async () => {
    const { only, component } = await build(
      () => new ExistingCluster("cluster", { kubeconfig: kubeconfig(), kubeconfigPath: "/home/me/team.yaml", context: "team" }),
    );
    const provider = only("pulumi:providers:kubernetes", "cluster-provider");
    assert.deepEqual(provider.secretInputs, ["kubeconfig"]);
    assert.equal(provider.inputs.context, "team");
    assert.equal(provider.inputs.clusterIdentifier, "team");
    assert.equal(component.clusterName, "team");
    assert.equal(component.contextName, "team");
    assert.equal(component.kubeconfigExport, "export KUBECONFIG=/home/me/team.yaml");
    assert.equal("deletedWith" in component, false, "nothing is deleted with a cluster the stack does not own");
  });

  it("uses a kubeconfig from secret config with its current context, and says how to write it to a file", async () => {
    const { only, component } = await build(() => new ExistingCluster("cluster", { kubeconfig: kubeconfig() }));
    const provider = only("pulumi:providers:kubernetes", "cluster-provider");
    assert.equal(provider.inputs.context, undefined);
    assert.equal(provider.inputs.clusterIdentifier, "existing");
    assert.equal(component.contextName, "(the kubeconfig's current context)");
    assert.equal(
      component.kubeconfigExport,
      "pulumi stack output kubeconfig --show-secrets > kubeconfig.yaml && export KUBECONFIG=$PWD/kubeconfig.yaml",
    );
  });

  it("keeps the kubeconfig secret even when handed a plain value", async () => {
    const { component } = await build(() => new ExistingCluster("cluster", { kubeconfig: pulumi.output("apiVersion: v1\n") }));
    assert.equal(await pulumi.isSecret(component.kubeconfig), true);
  });
});
