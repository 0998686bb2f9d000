// A cluster the stack does not own (cluster.kind: existing): only the Kubernetes provider is
// built. No kind command runs, and nothing is deleted with the cluster: destroy removes
// exactly the objects the stack created, one by one, in dependency order.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { componentType, type ClusterConnection } from "./cluster";
import type { ExistingClusterAccess } from "./config";

export type ExistingClusterArgs = ExistingClusterAccess;

export class ExistingCluster extends pulumi.ComponentResource implements ClusterConnection {
  readonly provider: k8s.Provider;
  readonly kubeconfig: pulumi.Output<string>;
  /** The context used, or the kubeconfig's current one. */
  readonly contextName: string;

  constructor(name: string, args: ExistingClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super(componentType("ExistingCluster"), name, {}, opts);
    this.kubeconfig = args.kubeconfig;
    this.contextName = args.context ?? "(the kubeconfig's current context)";
    this.provider = new k8s.Provider(
      `${name}-provider`,
      {
        kubeconfig: args.kubeconfig,
        ...(args.context !== undefined && { context: args.context }),
        // The cluster is named by its context, not by the kubeconfig's bytes: a refreshed
        // token updates the provider instead of replacing every object the stack made.
        clusterIdentifier: args.context ?? "existing",
      },
      { parent: this },
    );
    this.registerOutputs({ kubeconfig: this.kubeconfig });
  }
}
