// What every in-cluster component needs to know about the cluster it deploys to, and what a
// cluster component tells the user about itself.
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";

/** Type token of this project's components: `gitops:infra:<Kind>`. */
export const componentType = (kind: string) => `gitops:infra:${kind}`;

export interface ClusterConnection {
  /** The only Kubernetes provider of the stack; every Kubernetes resource uses it. */
  readonly provider: k8s.Provider;
  /** The resource whose deletion removes the whole cluster: in-cluster objects are not deleted one by one. */
  readonly deletedWith?: pulumi.Resource;
}

/** A cluster component: how to reach the cluster, and what the stack outputs say about it. */
export interface Cluster extends ClusterConnection {
  /** The cluster's name: kind's name, or the context of an existing cluster. */
  readonly clusterName: string;
  /** The kubeconfig, a Pulumi secret. */
  readonly kubeconfig: pulumi.Output<string>;
  /** The kubectl context to use. */
  readonly contextName: string;
  /** A shell line that points kubectl at the cluster. */
  readonly kubeconfigExport: string;
}

/** Resource options for a Kubernetes child of a component. */
export function inCluster(
  parent: pulumi.Resource,
  cluster: ClusterConnection,
  extra: pulumi.CustomResourceOptions = {},
): pulumi.CustomResourceOptions {
  return { parent, provider: cluster.provider, deletedWith: cluster.deletedWith, ...extra };
}

/**
 * Resource options for a Flux custom resource: its CRD comes with the FluxInstance, so it waits
 * for that, and for whatever else `extra.dependsOn` names (undefined entries are skipped).
 */
export function afterFlux(
  parent: pulumi.Resource,
  cluster: ClusterConnection,
  flux: pulumi.Resource,
  extra: Omit<pulumi.CustomResourceOptions, "dependsOn"> & { readonly dependsOn?: readonly (pulumi.Resource | undefined)[] } = {},
): pulumi.CustomResourceOptions {
  const { dependsOn = [], ...options } = extra;
  return inCluster(parent, cluster, {
    ...options,
    dependsOn: [flux, ...dependsOn.filter((resource): resource is pulumi.Resource => resource !== undefined)],
  });
}
