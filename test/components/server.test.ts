// The Server component under plain mocks: its Deployment, Service and ServiceMonitor from
// plain arguments, a pod that passes Pod Security "restricted", and its wiring.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import * as command from "@pulumi/command";
import { Server, serverPodTemplate, type ServerArgs } from "../../infra/components/server.ts";
import { build, providerReference, type Built } from "../support/components.ts";
import { restrictedViolations, type PodSpec } from "../support/podSecurity.ts";

const args: Omit<ServerArgs, "monitoringReady" | "cluster"> = {
  image: "registry.example/team/server:2.3.4",
  replicas: 4,
  logLevel: "debug",
  resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { cpu: "20m", memory: "32Mi" } },
  namespace: "apps",
};
type Object = { metadata: Record<string, unknown>; spec: Record<string, unknown> };

// A suite of its own: the tests of every file run in one process, and a top-level hook would run for all of them.
describe("the Server component, built alone", () => {
  let built: Built<Server>;
  before(async () => {
    built = await build((cluster) => {
      const prometheus = new command.local.Command("prometheus-ready", { create: "true" });
      return new Server("server", { ...args, monitoringReady: prometheus, cluster });
    });
  });
  const deployment = () => built.only("kubernetes:apps/v1:Deployment").inputs as Object;
  const service = () => built.only("kubernetes:core/v1:Service").inputs as Object;

  describe("the Server component", () => {
    it("runs the image with the replicas, log level and resources it is given", () => {
      const spec = deployment().spec as { replicas: number; template: { spec: { containers: Record<string, unknown>[] } } };
      assert.equal(spec.replicas, 4);
      const [container] = spec.template.spec.containers;
      assert.equal(container!.image, "registry.example/team/server:2.3.4");
      assert.deepEqual(container!.args, ["--log.level=debug"]);
      assert.deepEqual(container!.resources, args.resources);
    });

    it("rolls out one pod at a time, probing /health on the named port 8080", () => {
      const spec = deployment().spec as { strategy: unknown; template: { spec: { containers: Record<string, unknown>[] } } };
      assert.deepEqual(spec.strategy, { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 1 } });
      const [container] = spec.template.spec.containers;
      assert.deepEqual(container!.ports, [{ name: "http", containerPort: 8080, protocol: "TCP" }]);
      const probe = { httpGet: { path: "/health", port: "http" } };
      assert.deepEqual([container!.readinessProbe, container!.livenessProbe], [probe, probe]);
    });

    it("puts all three objects in the namespace it is given", () => {
      for (const registration of built.children.filter((r) => r.type.startsWith("kubernetes:"))) {
        assert.equal((registration.inputs.metadata as { namespace: string }).namespace, "apps", registration.name);
      }
    });

    it("runs as the image's numeric nobody user, passing Pod Security restricted", () => {
      const pod = (deployment().spec.template as { spec: PodSpec }).spec;
      assert.deepEqual(restrictedViolations(pod), []);
      assert.equal(pod.securityContext?.runAsUser, 65534);
    });

    it("selects the Service's pods with the Deployment's own pod labels", () => {
      const podLabels = (deployment().spec.template as { metadata: { labels: unknown } }).metadata.labels;
      assert.deepEqual(service().spec.selector, podLabels);
      const registration = built.only("kubernetes:core/v1:Service");
      assert.ok(
        registration.dependencies.includes(built.only("kubernetes:apps/v1:Deployment").urn),
        "the selector is the Deployment's output",
      );
    });

    it("scrapes /metrics every 10s, and creates the ServiceMonitor only once Prometheus (its CRD) is ready", () => {
      const monitor = built.only("kubernetes:monitoring.coreos.com/v1:ServiceMonitor");
      assert.deepEqual((monitor.inputs.spec as { endpoints: unknown }).endpoints, [
        { port: "http", path: "/metrics", interval: "10s", scrapeTimeout: "10s" },
      ]);
      const ready = built.children.find((r) => r.name === "prometheus-ready")!;
      assert.ok(monitor.dependencies.includes(ready.urn));
    });

    it("puts every object on the cluster's provider, deleted with the cluster", () => {
      const objects = built.children.filter((r) => r.type.startsWith("kubernetes:"));
      assert.equal(objects.length, 3);
      for (const registration of objects) {
        assert.equal(registration.provider, providerReference(built.cluster.provider), registration.name);
        assert.equal(registration.deletedWith, built.cluster.anchor.urn, registration.name);
      }
    });
  });

  describe("Pod Security restricted, the check itself", () => {
    it("catches what restricted forbids", () => {
      const pod = structuredClone(serverPodTemplate(args, { app: "x" }).spec) as unknown as PodSpec;
      pod.hostNetwork = true;
      pod.volumes = [{ name: "host", hostPath: { path: "/" } }];
      pod.containers[0]!.securityContext = {
        ...pod.containers[0]!.securityContext,
        runAsUser: 0,
        capabilities: { add: ["SYS_ADMIN"], drop: ["ALL"] },
      };
      assert.deepEqual(restrictedViolations(pod), [
        "host namespaces must not be shared",
        "volume host: hostPath volumes are forbidden",
        "container server: capability SYS_ADMIN may not be added",
        "container server: runAsUser must not be 0",
      ]);
    });
  });
});
