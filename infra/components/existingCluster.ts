// A cluster the stack does not own (cluster.kind: existing): only the Kubernetes provider is
// built. No kind command runs, and nothing is deleted with the cluster: destroy removes
// exactly the objects the stack created, one by one, in dependency order.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { componentType, type Cluster } from "./cluster.ts";

export interface ExistingClusterArgs {
  /** The kubeconfig; pass a Pulumi secret. */
  readonly kubeconfig: pulumi.Output<string>;
  /** Absolute path of the kubeconfig file, when it came from one (for the export line). */
  readonly kubeconfigPath?: string;
  /**
   * The kubeconfig's context to use.
   * @default the kubeconfig's current context
   */
  readonly context?: string;
}

export class ExistingCluster extends pulumi.ComponentResource implements Cluster {
  readonly provider: k8s.Provider;
  readonly clusterName: string;
  readonly kubeconfig: pulumi.Output<string>;
  readonly contextName: string;
  readonly kubeconfigExport: string;

  constructor(name: string, args: ExistingClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super(componentType("ExistingCluster"), name, {}, opts);
    this.kubeconfig = pulumi.secret(args.kubeconfig);
    this.clusterName = args.context ?? "existing";
    this.contextName = args.context ?? "(the kubeconfig's current context)";
    this.kubeconfigExport = args.kubeconfigPath
      ? `export KUBECONFIG=${args.kubeconfigPath}`
      : "pulumi stack output kubeconfig --show-secrets > kubeconfig.yaml && export KUBECONFIG=$PWD/kubeconfig.yaml";
    this.provider = new k8s.Provider(
      `${name}-provider`,
      {
        kubeconfig: this.kubeconfig,
        ...(args.context !== undefined && { context: args.context }),
        // The cluster is named by its context, not by the kubeconfig's bytes: a refreshed
        // token updates the provider instead of replacing every object the stack made.
        clusterIdentifier: args.context ?? "existing",
      },
      { parent: this },
    );
    this.registerOutputs({ kubeconfig: this.kubeconfig, contextName: this.contextName });
  }
}
