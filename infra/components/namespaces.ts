// The stack's namespaces. Pulumi owns them: no chart or HelmRelease creates a namespace.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { componentType, inCluster, type ClusterConnection } from "./cluster.ts";

/** What each namespace is for. */
export type NamespaceRole = "flux" | "server" | "monitoring";
type PodSecurityLevel = "privileged" | "baseline" | "restricted";

/**
 * Pod Security Standards per role. The demo server is held to "restricted". Flux and
 * the monitoring stack run chart-provided hook jobs we do not control, so they are
 * enforced at "baseline" and warned/audited at "restricted".
 */
export const podSecurity: Record<NamespaceRole, { enforce: PodSecurityLevel; warn: PodSecurityLevel }> = {
  flux: { enforce: "baseline", warn: "restricted" },
  server: { enforce: "restricted", warn: "restricted" },
  monitoring: { enforce: "baseline", warn: "restricted" },
};

export function namespaceLabels(role: NamespaceRole): Record<string, string> {
  const level = podSecurity[role];
  return {
    // Flux Operator applies its namespace too, labelled part-of flux and warn restricted, and
    // takes the labels it applies: with the same values, Pulumi and the operator never contend.
    "app.kubernetes.io/part-of": role === "flux" ? "flux" : "gitops",
    "pod-security.kubernetes.io/enforce": level.enforce,
    "pod-security.kubernetes.io/warn": level.warn,
    "pod-security.kubernetes.io/audit": level.warn,
  };
}

export interface NamespacesArgs {
  /** Namespace name per role; each role gets its own. */
  readonly names: Readonly<Record<NamespaceRole, string>>;
  /** The cluster they are created in. */
  readonly cluster: ClusterConnection;
}

export class Namespaces extends pulumi.ComponentResource {
  /** Namespace name per role, known once the namespace exists: depending on it waits for the namespace. */
  readonly names: Record<NamespaceRole, pulumi.Output<string>>;

  constructor(name: string, args: NamespacesArgs, opts?: pulumi.ComponentResourceOptions) {
    super(componentType("Namespaces"), name, {}, opts);
    const roles = Object.keys(args.names) as NamespaceRole[];
    this.names = Object.fromEntries(
      roles.map((role) => {
        const namespace = new k8s.core.v1.Namespace(
          `${name}-${role}`,
          { metadata: { name: args.names[role], labels: namespaceLabels(role) } },
          inCluster(this, args.cluster),
        );
        return [role, namespace.metadata.name];
      }),
    ) as Record<NamespaceRole, pulumi.Output<string>>;
    this.registerOutputs({ names: this.names });
  }
}
