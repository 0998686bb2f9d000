// The demo's workloads per environment (dev and prod under the mock engine): the server against
// the talk's own manifests, Pod Security, Prometheus, the monitors and the image policies. What
// each component does with any arguments is in test/components/.
import assert from "node:assert/strict";
import * as path from "node:path";
import { describe, it } from "node:test";
import * as YAML from "yaml";
import { isMapping, projectRoot, type HelmValues } from "../../infra/settings/index.ts";
import { prometheusReleaseName } from "../../infra/components/monitoring.ts";
import type { Registration } from "../../tools/offline/mockEngine.ts";
import { evaluatedBefore, fixtures, only, readYamlDocuments, readYamlFile, shippedStacks } from "../helpers.ts";
import * as fs from "node:fs";
import { restrictedViolations, type PodSpec } from "../support/podSecurity.ts";

type KubernetesObject = { kind: string; metadata: Record<string, unknown> & { name: string }; spec: Record<string, unknown> };
// A suite of its own: the tests of every file run in one process, and a top-level hook would run for all of them.
describe("the demo's workloads per environment", () => {
  const evaluations = evaluatedBefore({ dev: {}, prod: {} });
  const registrations = (stack: string) => evaluations.get(stack)!.registrations;
  const object = (stack: string, type: string, name: string) => only(registrations(stack), type, name).inputs as KubernetesObject;
  const deployment = (stack: string) => object(stack, "kubernetes:apps/v1:Deployment", "server-deployment");
  const service = (stack: string) => object(stack, "kubernetes:core/v1:Service", "server-service");
  const serviceMonitor = (stack: string) => object(stack, "kubernetes:monitoring.coreos.com/v1:ServiceMonitor", "server-monitor");
  const prometheus = (stack: string) => only(registrations(stack), "kubernetes:helm.toolkit.fluxcd.io/v2:HelmRelease");
  const imagePolicy = (stack: string) => object(stack, "kubernetes:image.toolkit.fluxcd.io/v1:ImagePolicy", "images-policy");

  /** The talk's server objects for an environment (test/fixtures/seed). */
  function demo(stack: string): Record<string, KubernetesObject> {
    const documents = readYamlDocuments(fs.readFileSync(path.join(fixtures, "seed", `server-${stack}.yaml`), "utf8")) as KubernetesObject[];
    return Object.fromEntries(documents.map((document) => [document.kind, document]));
  }
  const clone = <T>(value: T): T => structuredClone(value);

  describe("the server, against the talk's own manifests", () => {
    for (const stack of shippedStacks) {
      it(`${stack}: the Deployment equals the demo's, field by field, apart from the listed changes`, () => {
        const ours = clone(deployment(stack));
        const theirs = clone(demo(stack).Deployment!);
        // Changes on purpose, each checked on its own below:
        // 1. Flux v1's automation annotations are replaced by the ImagePolicy.
        delete theirs.metadata.annotations;
        // 2. The talk's image comes from the environment's local registry, which `up` fills with
        //    it: dev's under the tag the demo's Flux last wrote into k8s/dev/flux-patch.yaml
        //    (master-84e319d), with its build time appended so Flux v2 can order master builds.
        const theirsPod = (theirs.spec.template as { spec: PodSpec & { containers: { image?: string }[] } }).spec;
        theirsPod.containers[0]!.image =
          stack === "dev"
            ? "gitops-dev-registry:5000/ricoberger/gitops-using-flux:master-84e319d-1580380800"
            : `gitops-${stack}-registry:5000/${theirsPod.containers[0]!.image!}`;
        // 3. Pod Security "restricted": security contexts the demo did not have.
        const oursPod = (ours.spec.template as { spec: PodSpec }).spec;
        delete oursPod.securityContext;
        delete oursPod.containers[0]!.securityContext;
        assert.deepEqual(ours, theirs);
      });

      it(`${stack}: the Service equals the demo's`, () => {
        assert.deepEqual(service(stack), demo(stack).Service);
      });

      it(`${stack}: the ServiceMonitor equals the demo's, without the release label the chart no longer needs`, () => {
        const theirs = clone(demo(stack).ServiceMonitor!);
        delete (theirs.metadata.labels as Record<string, string>).release;
        assert.deepEqual(serviceMonitor(stack), theirs);
      });
    }

    it("dev and prod differ exactly where the demo's overlays differ: replicas, log level, image", () => {
      const spec = (stack: string) =>
        deployment(stack).spec as { replicas: number; template: { spec: { containers: { args: string[]; image: string }[] } } };
      assert.equal(spec("dev").replicas, 3);
      assert.equal(spec("prod").replicas, 5);
      assert.deepEqual(spec("dev").template.spec.containers[0]!.args, ["--log.level=info"]);
      assert.deepEqual(spec("prod").template.spec.containers[0]!.args, ["--log.level=warn"]);
      assert.equal(
        spec("dev").template.spec.containers[0]!.image,
        "gitops-dev-registry:5000/ricoberger/gitops-using-flux:master-84e319d-1580380800",
      );
      assert.equal(spec("prod").template.spec.containers[0]!.image, "gitops-prod-registry:5000/ricoberger/gitops-using-flux:1.0.0");
      const normalized = (stack: string) => {
        const copy = clone(spec(stack));
        copy.replicas = 0;
        copy.template.spec.containers[0]!.args = [];
        copy.template.spec.containers[0]!.image = "";
        return copy;
      };
      assert.deepEqual(normalized("dev"), normalized("prod"));
    });

    it("selects the Service's pods with the Deployment's own pod labels", () => {
      for (const stack of shippedStacks) {
        const podLabels = (deployment(stack).spec.template as { metadata: { labels: unknown } }).metadata.labels;
        assert.deepEqual(service(stack).spec.selector, podLabels);
        const serviceRegistration = only(registrations(stack), "kubernetes:core/v1:Service");
        const deploymentRegistration = only(registrations(stack), "kubernetes:apps/v1:Deployment");
        assert.ok(serviceRegistration.dependencies.includes(deploymentRegistration.urn), "the selector is the Deployment's output");
      }
    });
  });

  describe("Pod Security restricted", () => {
    for (const stack of shippedStacks) {
      it(`${stack}: the server's pod passes, as a numeric non-root user`, () => {
        const pod = (deployment(stack).spec.template as { spec: PodSpec }).spec;
        assert.deepEqual(restrictedViolations(pod), []);
        assert.equal(pod.securityContext?.runAsUser, 65534);
        assert.equal((pod.containers[0]!.securityContext as { readOnlyRootFilesystem?: boolean }).readOnlyRootFilesystem, true);
      });
    }

    it("the check fails the demo's original pod, which had no security context", () => {
      const pod = (demo("prod").Deployment!.spec.template as { spec: PodSpec }).spec;
      assert.deepEqual(restrictedViolations(pod), [
        "container server: allowPrivilegeEscalation must be false",
        "container server: runAsNonRoot must be true",
        "container server: seccomp profile must be RuntimeDefault or Localhost",
        "container server: capabilities must drop ALL",
      ]);
    });
  });

  describe("Prometheus", () => {
    const values = (stack: string) => (prometheus(stack).inputs.spec as { values: HelmValues }).values;
    const prometheusSpec = (stack: string) => (values(stack).prometheus as { prometheusSpec: Record<string, unknown> }).prometheusSpec;
    const chartDefaults = readYamlFile(path.join(fixtures, "charts/kube-prometheus-stack/values.yaml"));
    const chart = readYamlFile(path.join(fixtures, "charts/kube-prometheus-stack/Chart.yaml")) as { version: string };

    for (const stack of shippedStacks) {
      it(`${stack}: installs kube-prometheus-stack ${chart.version} from prometheus-community, CRDs created and replaced`, () => {
        const spec = prometheus(stack).inputs.spec as {
          releaseName: string;
          chart: { spec: { chart: string; version: string; sourceRef: { kind: string; name: string } } };
          install: { crds: string };
          upgrade: { crds: string };
        };
        assert.equal(spec.chart.spec.chart, "kube-prometheus-stack");
        assert.equal(spec.chart.spec.version, chart.version);
        assert.equal(spec.releaseName, prometheusReleaseName);
        assert.equal(spec.install.crds, "CreateReplace");
        assert.equal(spec.upgrade.crds, "CreateReplace");
        const repository = object(stack, "kubernetes:source.toolkit.fluxcd.io/v1:HelmRepository", "monitoring-repository");
        assert.equal(repository.spec.url, "https://prometheus-community.github.io/helm-charts");
        assert.deepEqual(spec.chart.spec.sourceRef, { kind: "HelmRepository", name: repository.metadata.name, namespace: "monitoring" });
      });

      it(`${stack}: waits for Flux to report the release Ready, for up to 15 minutes`, () => {
        const registration = prometheus(stack);
        const metadata = registration.inputs.metadata as { annotations: Record<string, string> };
        assert.equal(metadata.annotations["pulumi.com/waitFor"], "condition=Ready");
        assert.equal(metadata.annotations["pulumi.com/timeoutSeconds"], "900");
        assert.deepEqual(registration.customTimeouts, { create: "900s", update: "900s", delete: "" });
      });
    }

    it("dev keeps 6h of metrics, prod the demo's 1d", () => {
      assert.equal(prometheusSpec("dev").retention, "6h");
      assert.equal(prometheusSpec("prod").retention, "1d");
    });

    it("scrapes the server's ServiceMonitor and the Flux PodMonitor (the chart's selector logic)", () => {
      // kube-prometheus-stack's prometheus template: an explicit selector wins; otherwise, with
      // *SelectorNilUsesHelmValues true, only monitors labelled `release: <release name>`; else all.
      const effectiveSelector = (spec: Record<string, unknown>, kind: "serviceMonitor" | "podMonitor") => {
        const explicit = (spec[`${kind}Selector`] ??
          (chartDefaults as { prometheus: { prometheusSpec: Record<string, unknown> } }).prometheus.prometheusSpec[
            `${kind}Selector`
          ]) as Record<string, unknown>;
        if (isMapping(explicit) && Object.keys(explicit).length > 0) return explicit;
        const nilUsesHelm = spec[`${kind}SelectorNilUsesHelmValues`] ?? true;
        return nilUsesHelm ? { matchLabels: { release: prometheusReleaseName } } : {};
      };
      const selects = (selector: Record<string, unknown>, labels: Record<string, string>) =>
        Object.entries((selector.matchLabels ?? {}) as Record<string, string>).every(([key, value]) => labels[key] === value);
      for (const stack of shippedStacks) {
        const spec = prometheusSpec(stack);
        const podMonitor = object(stack, "kubernetes:monitoring.coreos.com/v1:PodMonitor", "monitoring-flux");
        assert.ok(selects(effectiveSelector(spec, "serviceMonitor"), serviceMonitor(stack).metadata.labels as Record<string, string>));
        assert.ok(selects(effectiveSelector(spec, "podMonitor"), podMonitor.metadata.labels as Record<string, string>));
        // Without the setting the chart's default would miss the server's monitor.
        assert.ok(!selects(effectiveSelector({}, "serviceMonitor"), serviceMonitor(stack).metadata.labels as Record<string, string>));
      }
    });
  });

  describe("ordering on the first up", () => {
    const fluxCustomResource = (r: Registration) => r.custom && /^kubernetes:[a-z]+\.toolkit\.fluxcd\.io\//.test(r.type);
    const fluxInstance = (stack: string) => only(registrations(stack), "kubernetes:fluxcd.controlplane.io/v1:FluxInstance");
    const monitors = (r: Registration) => r.type.startsWith("kubernetes:monitoring.coreos.com/");

    for (const stack of shippedStacks) {
      it(`${stack}: the FluxInstance waits for the operator's chart (its CRD), and every Flux custom resource for the instance`, () => {
        assert.ok(fluxInstance(stack).dependencies.includes(only(registrations(stack), "kubernetes:helm.sh/v3:Release").urn));
        const flux = fluxInstance(stack);
        const fluxObjects = registrations(stack).filter(fluxCustomResource);
        // The image policies, the Prometheus source and release, and the sync from the local Git server.
        assert.equal(fluxObjects.length, 7);
        for (const registration of fluxObjects) assert.ok(registration.dependencies.includes(flux.urn), registration.name);
      });

      it(`${stack}: every monitor waits for Prometheus to be Ready`, () => {
        const found = registrations(stack).filter(monitors);
        assert.deepEqual(found.map((r) => r.name).sort(), [
          "monitoring-flux",
          "monitoring-flux-alerts",
          "monitoring-flux-operator",
          "server-monitor",
        ]);
        for (const registration of found) assert.ok(registration.dependencies.includes(prometheus(stack).urn), registration.name);
      });
    }
  });

  describe("image policies", () => {
    it("scan the repository of the image the server runs (its environment's local registry), in flux-system", () => {
      for (const stack of shippedStacks) {
        const repository = object(stack, "kubernetes:image.toolkit.fluxcd.io/v1:ImageRepository", "images-repository");
        assert.equal(repository.metadata.namespace, "flux-system");
        assert.equal(repository.spec.image, `gitops-${stack}-registry:5000/ricoberger/gitops-using-flux`);
        assert.deepEqual(imagePolicy(stack).spec.imageRepositoryRef, { name: repository.metadata.name });
      }
    });

    it("prod: the demo's strict MAJOR.MINOR.PATCH rule with a semver range (so a tag 1337 is not taken)", () => {
      const spec = imagePolicy("prod").spec as { filterTags: { pattern: string }; policy: unknown };
      assert.equal(spec.filterTags.pattern, "^(0|[1-9]\\d*)\\.(0|[1-9]\\d*)\\.(0|[1-9]\\d*)$");
      assert.deepEqual(spec.policy, { semver: { range: ">=1.0.0" } });
      const pattern = new RegExp(spec.filterTags.pattern);
      assert.deepEqual(
        ["1.0.0", "1.2.10", "1337", "1.0", "01.0.0", "1.0.0-rc1", "master-84e319d"].filter((tag) => pattern.test(tag)),
        ["1.0.0", "1.2.10"],
      );
    });

    it("dev: the newest master build by its sortable timestamp", () => {
      const spec = imagePolicy("dev").spec as { filterTags: { pattern: string; extract: string }; policy: unknown };
      assert.deepEqual(spec.filterTags, { pattern: "^master-[a-f0-9]+-(?P<ts>[0-9]+)$", extract: "$ts" });
      assert.deepEqual(spec.policy, { numerical: { order: "asc" } });
    });

    it("each accepts the tag its stack file ships, so every policy is Ready after the first up", () => {
      for (const stack of shippedStacks) {
        const tag = (
          deployment(stack).spec as { template: { spec: { containers: { image: string }[] } } }
        ).template.spec.containers[0]!.image.split(":").at(-1)!;
        const pattern = (imagePolicy(stack).spec as { filterTags: { pattern: string } }).filterTags.pattern.replace("(?P<", "(?<");
        assert.match(tag, new RegExp(pattern), `${stack}: ${tag}`);
      }
    });
  });

  describe("the stack files", () => {
    it("set the server per environment: dev 3 x master-84e319d at info, prod 5 x 1.0.0 at warn, each from its local registry", () => {
      const server = (stack: string) =>
        (YAML.parse(fs.readFileSync(path.join(projectRoot, `Pulumi.${stack}.yaml`), "utf8")) as { config: Record<string, unknown> }).config[
          "gitops:server"
        ];
      assert.deepEqual(server("dev"), {
        replicas: 3,
        logLevel: "info",
        image: "gitops-dev-registry:5000/ricoberger/gitops-using-flux:master-84e319d-1580380800",
      });
      assert.deepEqual(server("prod"), {
        replicas: 5,
        logLevel: "warn",
        image: "gitops-prod-registry:5000/ricoberger/gitops-using-flux:1.0.0",
      });
    });
  });
});
