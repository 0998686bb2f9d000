// Flux v2 as its maintainers install it now: Flux Operator from its Helm chart, and one
// FluxInstance that has the operator install, upgrade and watch the Flux controllers. The
// operator also serves the Flux web UI (`npm run ui -- <env>` reaches it on 127.0.0.1).
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import { componentType, inCluster, type ClusterConnection } from "./cluster.ts";
import { FluxInstance, type FluxComponent, type FluxInstancePatch } from "./customResources.ts";
import type { FluxSettings, HelmValues } from "../settings/index.ts";

/** Where the operator's chart is published; its versions are the operator's. */
export const fluxOperatorChart = "oci://ghcr.io/controlplaneio-fluxcd/charts/flux-operator";
/** Where the Flux controller images come from (pulled through the machine's ghcr.io mirror). */
export const fluxRegistry = "ghcr.io/fluxcd";

/** The demo's controllers: its sources, kustomize, Helm, notifications and the image automation. */
export const fluxComponents: FluxComponent[] = [
  "source-controller",
  "kustomize-controller",
  "helm-controller",
  "notification-controller",
  "image-reflector-controller",
  "image-automation-controller",
];

/** The group the web UI's anonymous user belongs to, bound to the chart's flux-web-admin role. */
export const webUiGroup = "flux-web-anonymous";

/**
 * Chart values (flux-operator's values.yaml names every key). The web UI runs as an anonymous
 * user, because no other pod reaches it and `npm run ui` forwards it to the host's 127.0.0.1
 * only (refusing requests for other host names).
 */
export const fluxOperatorValues: HelmValues = {
  web: {
    config: { authentication: { type: "Anonymous", anonymous: { username: "flux", groups: [webUiGroup] } } },
    // The chart's policy would open port 9080 to every namespace. Without it, Flux's own policies
    // (the instance's networkPolicy: true) let only pods of Flux's namespace in; port-forward
    // does not pass through network policies.
    networkPolicy: { create: false },
  },
  // The ServiceMonitor CRD arrives with Prometheus, which Flux installs later: the chart's
  // monitor would make the first install fail. The Monitoring component creates it instead.
  serviceMonitor: { create: false },
};

const jsonPatch = (operations: object[]) => YAML.stringify(operations);

/**
 * The kustomize patches that carry an environment's settings into the Flux manifests: the demo's
 * 50m/64Mi requests per controller, the log level, and the CRDs' keep annotation, which the
 * operator honours when it uninstalls (fluxcd.controlplane.io/prune: disabled).
 */
export function fluxPatches(settings: Pick<FluxSettings, "logLevel" | "keepCrds">): FluxInstancePatch[] {
  const deployments = { kind: "Deployment" };
  const container = "/spec/template/spec/containers/0";
  return [
    {
      target: deployments,
      patch: jsonPatch([{ op: "replace", path: `${container}/resources/requests`, value: { cpu: "50m", memory: "64Mi" } }]),
    },
    // Every controller starts with --log-level=info; a repeated flag's last value wins.
    ...(settings.logLevel === "info"
      ? []
      : [
          {
            target: deployments,
            patch: jsonPatch([{ op: "add", path: `${container}/args/-`, value: `--log-level=${settings.logLevel}` }]),
          },
        ]),
    ...(settings.keepCrds
      ? [
          {
            target: { kind: "CustomResourceDefinition" },
            patch: jsonPatch([{ op: "add", path: "/metadata/annotations/fluxcd.controlplane.io~1prune", value: "disabled" }]),
          },
        ]
      : []),
  ];
}

export interface FluxArgs extends Pick<FluxSettings, "version" | "operatorVersion" | "logLevel" | "keepCrds" | "timeoutSeconds"> {
  /** Namespace the operator and the controllers run in (created by the Namespaces component). */
  readonly namespace: pulumi.Input<string>;
  /** The cluster Flux is installed in. */
  readonly cluster: ClusterConnection;
}

export class Flux extends pulumi.ComponentResource {
  /** Ready once every controller and CRD of the instance is: every Flux object waits for it. */
  readonly instance: FluxInstance;
  readonly namespace: pulumi.Output<string>;
  readonly version: string;
  readonly operatorVersion: string;

  constructor(name: string, args: FluxArgs, opts?: pulumi.ComponentResourceOptions) {
    super(componentType("Flux"), name, {}, opts);
    const operator = new k8s.helm.v3.Release(
      `${name}-operator`,
      {
        name: "flux-operator",
        chart: fluxOperatorChart,
        version: args.operatorVersion,
        namespace: args.namespace,
        // Pulumi owns the namespace (Namespaces component).
        createNamespace: false,
        values: fluxOperatorValues,
        timeout: args.timeoutSeconds,
      },
      inCluster(this, args.cluster),
    );

    new k8s.rbac.v1.ClusterRoleBinding(
      `${name}-web-ui`,
      {
        metadata: { name: "flux-web-anonymous" },
        subjects: [{ kind: "Group", name: webUiGroup, apiGroup: "rbac.authorization.k8s.io" }],
        // The chart's role: read everything, and Flux's actions (reconcile, suspend, resume).
        roleRef: { kind: "ClusterRole", name: "flux-web-admin", apiGroup: "rbac.authorization.k8s.io" },
      },
      inCluster(this, args.cluster, { dependsOn: [operator] }),
    );

    const timeout = `${args.timeoutSeconds}s`;
    this.instance = new FluxInstance(
      `${name}-instance`,
      {
        metadata: {
          // The operator takes exactly one instance, named flux, in its own namespace.
          name: "flux",
          namespace: args.namespace,
          annotations: {
            // Pulumi has no readiness check for it: wait until the operator reports Flux running.
            "pulumi.com/waitFor": "condition=Ready",
            "pulumi.com/timeoutSeconds": String(args.timeoutSeconds),
            // The operator's own wait (default 5m) would give up on a cold kind node first.
            "fluxcd.controlplane.io/reconcileTimeout": timeout,
          },
        },
        spec: {
          distribution: { version: args.version, registry: fluxRegistry },
          components: fluxComponents,
          cluster: { type: "kubernetes", multitenant: false, networkPolicy: true, domain: "cluster.local" },
          kustomize: { patches: fluxPatches(args) },
        },
      },
      inCluster(this, args.cluster, { dependsOn: [operator], customTimeouts: { create: timeout, update: timeout } }),
    );
    this.namespace = pulumi.output(args.namespace);
    this.version = args.version;
    this.operatorVersion = args.operatorVersion;
    this.registerOutputs({ namespace: this.namespace, version: this.version, operatorVersion: this.operatorVersion });
  }
}
