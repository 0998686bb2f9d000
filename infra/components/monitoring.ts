// Prometheus, installed by Flux: a HelmRepository and a HelmRelease of kube-prometheus-stack
// reduced to the Prometheus server as in the demo, plus Flux's own monitoring: the controllers'
// and the operator's metrics, and an alert for a Flux object that stays not Ready.
import * as pulumi from "@pulumi/pulumi";
import { afterFlux, componentType, inCluster, type ClusterConnection } from "./cluster.ts";
import type { HelmValues } from "../settings/index.ts";
import { HelmRelease, HelmRepository, PodMonitor, PrometheusRule, ServiceMonitor } from "./customResources.ts";
import { fluxComponents } from "./flux.ts";

/** The demo's release name; kube-prometheus-stack derives its object names from it. */
export const prometheusReleaseName = "prometheus-operator";

/**
 * Chart values (kube-prometheus-stack 88.5.3's values.yaml names every key): the demo's
 * trimmed set. Its Prometheus image tag v2.15.2 is dropped: the chart now ships Prometheus 3.
 */
export function prometheusValues(settings: Pick<MonitoringArgs, "enableAdminAPI" | "retention" | "replicas">): HelmValues {
  const off = { enabled: false };
  return {
    defaultRules: { create: false },
    coreDns: off,
    kubeDns: off,
    // kubeadm (kind) binds these to the node's 127.0.0.1: Prometheus could never scrape them.
    // The demo turned the others off; etcd's target was DOWN there too.
    kubeControllerManager: off,
    kubeScheduler: off,
    kubeProxy: off,
    kubeEtcd: off,
    nodeExporter: off,
    alertmanager: off,
    grafana: off,
    // Which tag each ImagePolicy picked, as a metric: kube-state-metrics reads the policies.
    "kube-state-metrics": {
      customResourceState: { enabled: true, config: imagePolicyMetrics },
      rbac: { extraRules: [{ apiGroups: ["image.toolkit.fluxcd.io"], resources: ["imagepolicies"], verbs: ["list", "watch"] }] },
    },
    prometheus: {
      prometheusSpec: {
        enableAdminAPI: settings.enableAdminAPI,
        retention: settings.retention,
        replicas: settings.replicas,
        // By default the chart selects only monitors labelled `release: <release name>`.
        // Off: every ServiceMonitor and PodMonitor is scraped, and every PrometheusRule loaded,
        // including ones a team adds via Git.
        serviceMonitorSelectorNilUsesHelmValues: false,
        podMonitorSelectorNilUsesHelmValues: false,
        ruleSelectorNilUsesHelmValues: false,
      },
    },
  };
}

/**
 * kube-state-metrics' custom resource state (v2.20, its CustomResourceStateMetrics format): one
 * series per ImagePolicy, `gotk_image_policy_info{name, exported_namespace, image, tag}`, with
 * the tag Flux picked last (status.latestRef): which tag is where, queryable in Prometheus.
 */
export const imagePolicyMetrics = {
  kind: "CustomResourceStateMetrics",
  spec: {
    resources: [
      {
        groupVersionKind: { group: "image.toolkit.fluxcd.io", version: "v1", kind: "ImagePolicy" },
        metricNamePrefix: "gotk",
        labelsFromPath: { name: ["metadata", "name"], exported_namespace: ["metadata", "namespace"] },
        metrics: [
          {
            name: "image_policy_info",
            help: "The image tag a Flux ImagePolicy picked last (status.latestRef).",
            each: {
              type: "Info",
              info: { labelsFromPath: { image: ["status", "latestRef", "name"], tag: ["status", "latestRef", "tag"] } },
            },
          },
        ],
      },
    ],
  },
};

/**
 * Alerts on Flux's state as Flux Operator reports it: flux_resource_info has one series per Flux
 * object (a source, a Kustomization, a HelmRelease, an image policy...), flux_instance_info one per
 * FluxInstance. Each fires when one that is not suspended has not been Ready for 10 minutes. The
 * series also carry the reason and revision, which change while an object stays failed: taken
 * per object (max by), a new reason does not restart the 10 minutes.
 */
export const fluxAlertRules = [
  {
    alert: "FluxObjectNotReady",
    expr: 'max by (kind, exported_namespace, name) (flux_resource_info{ready!="True",suspended="False"})',
    for: "10m",
    labels: { severity: "warning" },
    annotations: {
      summary: "{{ $labels.kind }} {{ $labels.exported_namespace }}/{{ $labels.name }} has not been Ready for 10 minutes",
      description:
        "Flux reports {{ $labels.kind }} {{ $labels.exported_namespace }}/{{ $labels.name }} not Ready: its status (kubectl describe, or npm run ui) says why.",
    },
  },
  {
    alert: "FluxInstanceNotReady",
    expr: 'max by (exported_namespace, name) (flux_instance_info{ready!="True",suspended="False"})',
    for: "10m",
    labels: { severity: "warning" },
    annotations: {
      summary: "FluxInstance {{ $labels.exported_namespace }}/{{ $labels.name }} has not been Ready for 10 minutes",
      description:
        "Flux Operator cannot install or upgrade Flux as FluxInstance {{ $labels.exported_namespace }}/{{ $labels.name }} asks: its status says why.",
    },
  },
];

export interface MonitoringArgs {
  /** Namespace of Prometheus (and its HelmRepository and HelmRelease). */
  readonly namespace: pulumi.Input<string>;
  /** Namespace of Flux Operator and the controllers: their monitors and alert rule live there. */
  readonly fluxNamespace: pulumi.Input<string>;
  /** Exact kube-prometheus-stack chart version. */
  readonly chartVersion: string;
  /** Helm repository Flux installs the chart from. */
  readonly repository: string;
  /** How long Prometheus keeps metrics (a Prometheus duration). */
  readonly retention: string;
  /** Prometheus server replicas. */
  readonly replicas: number;
  /** Prometheus' admin API, as the demo had it. */
  readonly enableAdminAPI: boolean;
  /** How long `up` waits for Flux to report the release Ready, in seconds. */
  readonly readyTimeoutSeconds: number;
  /** The FluxInstance: Flux's CRDs and controllers are in place once it is Ready. */
  readonly flux: pulumi.Resource;
  /** The cluster Prometheus runs in. */
  readonly cluster: ClusterConnection;
}

export class Monitoring extends pulumi.ComponentResource {
  /** Ready once Flux has installed the chart; monitors depend on it (their CRDs come with it). */
  readonly prometheus: HelmRelease;

  constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super(componentType("Monitoring"), name, {}, opts);

    const repository = new HelmRepository(
      `${name}-repository`,
      {
        metadata: { name: "prometheus-community", namespace: args.namespace },
        spec: { url: args.repository, interval: "1h" },
      },
      afterFlux(this, args.cluster, args.flux),
    );

    const readyTimeout = `${args.readyTimeoutSeconds}s`;
    this.prometheus = new HelmRelease(
      `${name}-prometheus`,
      {
        metadata: {
          name: prometheusReleaseName,
          namespace: args.namespace,
          // Pulumi has no readiness check for Flux objects: wait for Flux to report the install.
          annotations: {
            "pulumi.com/waitFor": "condition=Ready",
            "pulumi.com/timeoutSeconds": String(args.readyTimeoutSeconds),
          },
        },
        spec: {
          releaseName: prometheusReleaseName,
          interval: "10m",
          timeout: "10m",
          chart: {
            spec: {
              chart: "kube-prometheus-stack",
              version: args.chartVersion,
              sourceRef: { kind: "HelmRepository", name: repository.metadata.name, namespace: args.namespace },
            },
          },
          // Chart upgrades upgrade the chart's CRDs too (Flux's default skips them on upgrade).
          install: { crds: "CreateReplace", remediation: { retries: 3 } },
          upgrade: { crds: "CreateReplace", remediation: { retries: 3 } },
          values: prometheusValues(args),
        },
      },
      afterFlux(this, args.cluster, args.flux, { customTimeouts: { create: readyTimeout, update: readyTimeout } }),
    );

    // Flux's monitors and alert rules live in Flux's namespace; their CRDs come with Prometheus.
    const fluxMetadata = (objectName: string) => ({
      name: objectName,
      namespace: args.fluxNamespace,
      labels: { "app.kubernetes.io/part-of": "flux" },
    });
    const afterPrometheus = () => inCluster(this, args.cluster, { dependsOn: [this.prometheus] });

    new PodMonitor(
      `${name}-flux`,
      {
        metadata: fluxMetadata("flux-system"),
        spec: {
          namespaceSelector: { matchNames: [args.fluxNamespace] },
          selector: { matchExpressions: [{ key: "app", operator: "In", values: fluxComponents }] },
          podMetricsEndpoints: [
            {
              port: "http-prom",
              // Only running pods: completed ones would report stale series.
              relabelings: [{ sourceLabels: ["__meta_kubernetes_pod_phase"], action: "keep", regex: "Running" }],
            },
          ],
        },
      },
      afterPrometheus(),
    );

    // The operator's metrics: flux_resource_info, one series per Flux object with its Ready status.
    // Flux's allow-scraping NetworkPolicy (the instance's networkPolicy: true) opens port 8080 of
    // every pod in Flux's namespace, the operator's too, to Prometheus.
    new ServiceMonitor(
      `${name}-flux-operator`,
      {
        metadata: fluxMetadata("flux-operator"),
        spec: {
          namespaceSelector: { matchNames: [args.fluxNamespace] },
          selector: { matchLabels: { "app.kubernetes.io/name": "flux-operator" } },
          endpoints: [{ targetPort: 8080, path: "/metrics" }],
        },
      },
      afterPrometheus(),
    );

    new PrometheusRule(
      `${name}-flux-alerts`,
      {
        metadata: fluxMetadata("flux"),
        spec: { groups: [{ name: "flux", rules: fluxAlertRules }] },
      },
      afterPrometheus(),
    );

    this.registerOutputs({});
  }
}
