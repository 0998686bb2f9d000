// The Monitoring component under plain mocks: kube-prometheus-stack as a Flux HelmRelease,
// checked against the pinned chart's own default values, and the Flux PodMonitor.
import assert from "node:assert/strict";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import * as fs from "node:fs";
import { fluxAlertRules, imagePolicyMetrics, Monitoring, prometheusReleaseName } from "../../infra/components/monitoring.ts";
import { mergeValues, type HelmValues } from "../../infra/settings/index.ts";
import { fixtures, readYamlDocuments, readYamlFile, unknownValuePaths } from "../helpers.ts";
import { build, fluxInstance, type Built } from "../support/components.ts";

// kube-prometheus-stack's values.yaml at the pinned version (test/fixtures/README.md).
// kube-state-metrics is a subchart: its keys are its own values.yaml's, under what the parent sets for it.
const parentDefaults = readYamlFile(path.join(fixtures, "charts/kube-prometheus-stack/values.yaml")) as HelmValues;
const kubeStateMetricsDefaults = readYamlFile(
  path.join(fixtures, "charts/kube-prometheus-stack/charts/kube-state-metrics/values.yaml"),
) as HelmValues;
const chartDefaults: HelmValues = {
  ...parentDefaults,
  "kube-state-metrics": mergeValues(kubeStateMetricsDefaults, parentDefaults["kube-state-metrics"] as HelmValues),
};
const chart = readYamlFile(path.join(fixtures, "charts/kube-prometheus-stack/Chart.yaml")) as { version: string };
// The controllers' pods as Flux 2.9.4 defines them: what the PodMonitor must select.
const fluxPods = (
  readYamlDocuments(fs.readFileSync(path.join(fixtures, "flux-2.9.4/deployments.yaml"), "utf8")) as {
    metadata: { name: string };
    spec: { template: { metadata: { labels: Record<string, string> }; spec: { containers: { ports?: { name: string }[] }[] } } };
  }[]
).map((deployment) => ({ name: deployment.metadata.name, ...deployment.spec.template }));
// The labels Flux Operator 0.58.1 gives its metrics (internal/reporter/metrics.go).
const commonLabels = ["uid", "kind", "name", "exported_namespace", "ready", "reason", "suspended"];
const metricLabels: Record<string, string[]> = {
  flux_resource_info: [...commonLabels, "revision", "url", "ref", "source_name", "path"],
  flux_instance_info: [...commonLabels, "registry", "revision"],
};

// A suite of its own: the tests of every file run in one process, and a top-level hook would run for all of them.
describe("the Monitoring component, built alone", () => {
  let built: Built<Monitoring>;
  before(async () => {
    built = await build((cluster) => {
      const flux = fluxInstance();
      return new Monitoring("monitoring", {
        namespace: "metrics",
        fluxNamespace: "gitops-flux",
        chartVersion: chart.version,
        repository: "https://prometheus-community.github.io/helm-charts",
        retention: "2d",
        replicas: 2,
        enableAdminAPI: false,
        readyTimeoutSeconds: 1200,
        flux,
        cluster,
      });
    });
  });
  const release = () => built.only("kubernetes:helm.toolkit.fluxcd.io/v2:HelmRelease");
  const values = () => (release().inputs.spec as { values: HelmValues }).values;
  const prometheusSpec = () => (values().prometheus as { prometheusSpec: Record<string, unknown> }).prometheusSpec;

  describe("the Monitoring component", () => {
    it("installs the chart version it is given from its HelmRepository, CRDs created and replaced", () => {
      const spec = release().inputs.spec as {
        releaseName: string;
        chart: { spec: { chart: string; version: string; sourceRef: unknown } };
        install: { crds: string };
        upgrade: { crds: string };
      };
      assert.equal(spec.releaseName, prometheusReleaseName);
      assert.equal(spec.chart.spec.chart, "kube-prometheus-stack");
      assert.equal(spec.chart.spec.version, chart.version);
      assert.deepEqual(spec.chart.spec.sourceRef, { kind: "HelmRepository", name: "prometheus-community", namespace: "metrics" });
      assert.equal(spec.install.crds, "CreateReplace");
      assert.equal(spec.upgrade.crds, "CreateReplace");
      const repository = built.only("kubernetes:source.toolkit.fluxcd.io/v1:HelmRepository");
      assert.deepEqual(repository.inputs.spec, { url: "https://prometheus-community.github.io/helm-charts", interval: "1h" });
    });

    it("sets only keys the pinned chart's values.yaml has", () => {
      assert.deepEqual(unknownValuePaths(values(), chartDefaults), []);
    });

    it("has kube-state-metrics export which tag each ImagePolicy picked (status.latestRef), and lets it read the policies", () => {
      const kubeStateMetrics = values()["kube-state-metrics"] as { customResourceState: unknown; rbac: unknown };
      assert.deepEqual(kubeStateMetrics.customResourceState, { enabled: true, config: imagePolicyMetrics });
      assert.deepEqual(kubeStateMetrics.rbac, {
        extraRules: [{ apiGroups: ["image.toolkit.fluxcd.io"], resources: ["imagepolicies"], verbs: ["list", "watch"] }],
      });
      // The group, version and fields of the ImagePolicy the stacks create (Flux 2.8's CRD).
      const [resource] = imagePolicyMetrics.spec.resources;
      assert.deepEqual(resource!.groupVersionKind, { group: "image.toolkit.fluxcd.io", version: "v1", kind: "ImagePolicy" });
      const crd = readYamlFile(path.join(fixtures, "flux-crds/image.toolkit.fluxcd.io_imagepolicies.yaml")) as {
        spec: {
          versions: {
            name: string;
            schema: { openAPIV3Schema: { properties: { status: { properties: Record<string, { properties?: object }> } } } };
          }[];
        };
      };
      const status = crd.spec.versions.find((version) => version.name === "v1")!.schema.openAPIV3Schema.properties.status.properties;
      assert.deepEqual(Object.keys(status.latestRef?.properties ?? {}).sort(), ["digest", "name", "tag"]);
    });

    it("keeps only the Prometheus server, as the demo did, with the retention, replicas and admin API it is given", () => {
      for (const part of [
        "coreDns",
        "kubeDns",
        "kubeControllerManager",
        "kubeScheduler",
        "kubeProxy",
        "kubeEtcd",
        "nodeExporter",
        "alertmanager",
        "grafana",
      ]) {
        assert.deepEqual(values()[part], { enabled: false }, part);
      }
      assert.deepEqual(values().defaultRules, { create: false });
      assert.deepEqual(
        { retention: prometheusSpec().retention, replicas: prometheusSpec().replicas, enableAdminAPI: prometheusSpec().enableAdminAPI },
        { retention: "2d", replicas: 2, enableAdminAPI: false },
      );
      assert.equal(prometheusSpec().image, undefined, "the chart's own Prometheus 3 image");
    });

    it("scrapes no control-plane port that kind (kubeadm) binds to 127.0.0.1, so every target can be up", () => {
      // kubeadm's static pods listen for metrics on the node's loopback only: etcd 2381,
      // controller-manager 10257, scheduler 10259, kube-proxy 10249. Prometheus, in a pod, cannot reach them.
      const enabled = (part: string) =>
        (values()[part] as { enabled?: boolean } | undefined)?.enabled ?? (chartDefaults[part] as { enabled: boolean }).enabled;
      assert.deepEqual(["kubeEtcd", "kubeControllerManager", "kubeScheduler", "kubeProxy"].filter(enabled), []);
    });

    it("waits for Flux to report the release Ready, for the timeout it is given", () => {
      const metadata = release().inputs.metadata as { annotations: Record<string, string> };
      assert.equal(metadata.annotations["pulumi.com/waitFor"], "condition=Ready");
      assert.equal(metadata.annotations["pulumi.com/timeoutSeconds"], "1200");
      assert.deepEqual(release().customTimeouts, { create: "1200s", update: "1200s", delete: "" });
    });

    it("scrapes every Flux 2.9.4 controller in Flux's namespace on its metrics port, running pods only, once Prometheus is Ready", () => {
      const monitor = built.only("kubernetes:monitoring.coreos.com/v1:PodMonitor");
      const spec = monitor.inputs.spec as {
        namespaceSelector: unknown;
        selector: { matchExpressions: { key: string; operator: string; values: string[] }[] };
        podMetricsEndpoints: { port: string }[];
      };
      assert.equal((monitor.inputs.metadata as { namespace: string }).namespace, "gitops-flux");
      assert.deepEqual(spec.namespaceSelector, { matchNames: ["gitops-flux"] });
      const [expression] = spec.selector.matchExpressions;
      assert.equal(expression!.operator, "In");
      assert.equal(spec.podMetricsEndpoints.length, 1);
      for (const pod of fluxPods) {
        assert.ok(expression!.values.includes(pod.metadata.labels[expression!.key]!), `${pod.name} is selected`);
        const ports = pod.spec.containers.flatMap((container) => container.ports ?? []).map((port) => port.name);
        assert.ok(ports.includes(spec.podMetricsEndpoints[0]!.port), `${pod.name} has the port`);
      }
      assert.ok(monitor.dependencies.includes(release().urn));
    });

    it("scrapes Flux Operator's metrics (flux_resource_info) from its Service, once Prometheus is Ready", () => {
      const monitor = built.only("kubernetes:monitoring.coreos.com/v1:ServiceMonitor");
      assert.equal((monitor.inputs.metadata as { namespace: string }).namespace, "gitops-flux");
      assert.deepEqual(monitor.inputs.spec, {
        namespaceSelector: { matchNames: ["gitops-flux"] },
        // The chart's Service: app.kubernetes.io/name flux-operator, metrics on 8080 (as the operator's own config/monitoring).
        selector: { matchLabels: { "app.kubernetes.io/name": "flux-operator" } },
        endpoints: [{ targetPort: 8080, path: "/metrics" }],
      });
      assert.ok(monitor.dependencies.includes(release().urn));
    });

    it("alerts when a Flux object, or the FluxInstance, not suspended has not been Ready for 10 minutes; Prometheus loads the rules", () => {
      const rule = built.only("kubernetes:monitoring.coreos.com/v1:PrometheusRule");
      assert.deepEqual(rule.inputs.spec, { groups: [{ name: "flux", rules: fluxAlertRules }] });
      assert.deepEqual(
        fluxAlertRules.map((alert) => [alert.alert, alert.for]),
        [
          ["FluxObjectNotReady", "10m"],
          ["FluxInstanceNotReady", "10m"],
        ],
      );
      for (const alert of fluxAlertRules) {
        const [, by, metric, selector] = /^max by \(([^)]*)\) \((\w+)\{([^}]*)\}\)$/.exec(alert.expr) ?? [];
        assert.ok(metric && by !== undefined && selector !== undefined, alert.expr);
        assert.equal(selector, 'ready!="True",suspended="False"');
        // Per object, with labels the metric has; the alert's text names only labels the aggregation keeps.
        const kept = by.split(",").map((label) => label.trim());
        assert.deepEqual(
          kept.filter((label) => !metricLabels[metric]!.includes(label)),
          [],
          alert.alert,
        );
        const named = [...JSON.stringify(alert.annotations).matchAll(/\$labels\.(\w+)/g)].map((match) => match[1]!);
        assert.deepEqual(
          named.filter((label) => !kept.includes(label)),
          [],
          alert.alert,
        );
      }
      // Without this, the chart's Prometheus loads only rules labelled with its release name.
      assert.equal(prometheusSpec().ruleSelectorNilUsesHelmValues, false);
      assert.ok(rule.dependencies.includes(release().urn));
    });

    it("creates the Flux objects only after the FluxInstance (their CRDs come with it)", () => {
      const flux = built.children.find((r) => r.name === "flux-instance")!;
      for (const type of ["kubernetes:source.toolkit.fluxcd.io/v1:HelmRepository", "kubernetes:helm.toolkit.fluxcd.io/v2:HelmRelease"]) {
        assert.ok(built.only(type).dependencies.includes(flux.urn), type);
      }
    });
  });
});
