// Flux v2, installed from the community flux2 Helm chart with the stack's values.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { componentType, inCluster, type ClusterConnection } from "./cluster.ts";
import type { HelmValues } from "../settings/index.ts";

export interface FluxArgs {
  /** Namespace the controllers run in (created by the Namespaces component). */
  readonly namespace: pulumi.Input<string>;
  /** Exact flux2 chart version; 2.18.3 installs Flux 2.8.5. */
  readonly chartVersion: string;
  /** Helm repository that serves the flux2 chart. */
  readonly repository: string;
  /** Chart values: the program's defaults merged with stacks/<env>/flux-values.yaml. */
  readonly values: HelmValues;
  /** How long Helm waits for the controllers, in seconds; cold image pulls on kind take minutes. */
  readonly timeoutSeconds: number;
  /** The cluster Flux is installed in. */
  readonly cluster: ClusterConnection;
}

export class Flux extends pulumi.ComponentResource {
  /** Every Flux custom resource depends on this: its CRDs come from the chart's templates. */
  readonly release: k8s.helm.v3.Release;
  readonly namespace: pulumi.Output<string>;
  readonly chartVersion: string;

  constructor(name: string, args: FluxArgs, opts?: pulumi.ComponentResourceOptions) {
    super(componentType("Flux"), name, {}, opts);
    this.release = new k8s.helm.v3.Release(
      `${name}-release`,
      {
        name: "flux",
        chart: "flux2",
        version: args.chartVersion,
        repositoryOpts: { repo: args.repository },
        namespace: args.namespace,
        // Pulumi owns the namespace (Namespaces component).
        createNamespace: false,
        values: args.values,
        timeout: args.timeoutSeconds,
      },
      inCluster(this, args.cluster),
    );
    this.namespace = pulumi.output(args.namespace);
    this.chartVersion = args.chartVersion;
    this.registerOutputs({ namespace: this.namespace, chartVersion: this.chartVersion });
  }
}
