// What the environment promises, checked against the live cluster: nodes, Flux (its
// FluxInstance and web UI), Prometheus, the server, and Prometheus' view of its targets, of
// Flux's state and of its alert rule.
import * as net from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
// Types only: the modules themselves load after the prerequisite check, so a skip is instant.
import type * as K8s from "@kubernetes/client-node";
import type { Stack } from "@pulumi/pulumi/automation/index.js";
import { CheckFailed, log, messageOf, minute, monitoringNamespace, serverNamespace } from "./common.ts";
import { stackSetting, type Run } from "./throwawayStack.ts";

interface Clients {
  /** Aborted when the suite is stopped: every wait and request ends. */
  readonly stop: AbortSignal;
  readonly config: K8s.KubeConfig;
  readonly core: K8s.CoreV1Api;
  readonly apps: K8s.AppsV1Api;
  readonly custom: K8s.CustomObjectsApi;
  readonly forward: K8s.PortForward;
}

export async function clientsFor(kubeconfig: string, stop: AbortSignal): Promise<Clients> {
  const k8s = await import("@kubernetes/client-node");
  const config = new k8s.KubeConfig();
  config.loadFromString(kubeconfig);
  return {
    stop,
    config,
    core: config.makeApiClient(k8s.CoreV1Api),
    apps: config.makeApiClient(k8s.AppsV1Api),
    custom: config.makeApiClient(k8s.CustomObjectsApi),
    forward: new k8s.PortForward(config),
  };
}

type Condition = { type?: string; status?: string; reason?: string; message?: string };
const isTrue = (conditions: readonly Condition[] | undefined, type: string) =>
  conditions?.some((condition) => condition.type === type && condition.status === "True") ?? false;

/**
 * Polls `check` until it returns undefined (holds) or `timeoutMs` passes. `check` returns what
 * is still wrong; errors (the API not answering yet) count as not yet, and are reported.
 */
export async function waitUntil(
  description: string,
  check: () => Promise<string | undefined>,
  timeoutMs: number,
  stop: AbortSignal,
  intervalMs = 5_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    stop.throwIfAborted();
    let problem: string | undefined;
    try {
      problem = await check();
    } catch (error) {
      // A definite failure ends the wait; anything else may be the cluster still settling.
      if (error instanceof CheckFailed) throw error;
      problem = `error: ${messageOf(error)}`;
    }
    if (problem === undefined) {
      log(`ok: ${description}`);
      return;
    }
    if (Date.now() >= deadline) {
      throw new CheckFailed(`${description}: still not so after ${Math.round(timeoutMs / 1000)}s (${problem})`);
    }
    await sleep(intervalMs, undefined, { signal: stop });
  }
}

async function nodesReady({ core }: Clients): Promise<string | undefined> {
  const nodes = (await core.listNode()).items;
  if (nodes.length === 0) return "no nodes";
  const notReady = nodes.filter((node) => !isTrue(node.status?.conditions, "Ready")).map((node) => node.metadata?.name);
  return notReady.length === 0 ? undefined : `not Ready: ${notReady.join(", ")}`;
}

async function deploymentsAvailable({ apps }: Clients, namespace: string): Promise<string | undefined> {
  const deployments = (await apps.listNamespacedDeployment({ namespace })).items;
  if (deployments.length === 0) return "no Deployments";
  const unavailable = deployments.filter((d) => !isTrue(d.status?.conditions, "Available")).map((d) => d.metadata?.name);
  return unavailable.length === 0 ? undefined : `not Available: ${unavailable.join(", ")}`;
}

async function prometheusReleaseReady({ custom }: Clients): Promise<string | undefined> {
  const release = (await custom.getNamespacedCustomObject({
    group: "helm.toolkit.fluxcd.io",
    version: "v2",
    namespace: monitoringNamespace,
    plural: "helmreleases",
    name: "prometheus-operator",
  })) as { status?: { conditions?: Condition[] } };
  const ready = release.status?.conditions?.find((condition) => condition.type === "Ready");
  if (ready?.status === "True") return undefined;
  return ready ? `Ready=${ready.status}: ${ready.reason ?? ""} ${ready.message ?? ""}`.trim() : "no Ready condition";
}

/** The FluxInstance is Ready: Flux Operator has installed the Flux version the stack pins, and it runs. */
async function fluxInstanceReady({ custom }: Clients, fluxNamespace: string, version: string): Promise<string | undefined> {
  const instance = (await custom.getNamespacedCustomObject({
    group: "fluxcd.controlplane.io",
    version: "v1",
    namespace: fluxNamespace,
    plural: "fluxinstances",
    name: "flux",
  })) as { spec?: { distribution?: { version?: string } }; status?: { conditions?: Condition[] } };
  if (instance.spec?.distribution?.version !== version) {
    throw new CheckFailed(`FluxInstance flux asks for Flux ${String(instance.spec?.distribution?.version)}, the stack pins ${version}`);
  }
  const ready = instance.status?.conditions?.find((condition) => condition.type === "Ready");
  if (ready?.status === "True") return undefined;
  return ready ? `Ready=${ready.status}: ${ready.reason ?? ""} ${ready.message ?? ""}`.trim() : "no Ready condition";
}

/**
 * The Flux web UI answers on Flux Operator's pod, as `npm run ui` reaches it, and its API lists
 * the FluxInstance: the anonymous user's group is bound to a role that may read it.
 */
async function webUiAnswers(clients: Clients, fluxNamespace: string): Promise<string | undefined> {
  // The chart's Service, named after the release (flux-operator).
  const pod = await readyPodOf(clients, fluxNamespace, "flux-operator");
  const query = `kind=FluxInstance&name=flux&namespace=${encodeURIComponent(fluxNamespace)}`;
  const { status, body } = await withPortForward(clients, fluxNamespace, pod, 9080, (localPort) =>
    httpGet(`http://127.0.0.1:${localPort}/api/v1/resources?${query}`, clients.stop),
  );
  return status === 200 && body.includes("FluxInstance")
    ? undefined
    : `pod ${pod}:9080 /api/v1/resources answered ${status} ${JSON.stringify(body.slice(0, 200))}`;
}

async function serverReplicasAvailable({ apps }: Clients, expectedReplicas: number): Promise<string | undefined> {
  const deployment = await apps.readNamespacedDeployment({ name: "server", namespace: serverNamespace });
  const desired = deployment.spec?.replicas ?? 1;
  const available = deployment.status?.availableReplicas ?? 0;
  // The stack's setting must have reached the cluster, not just any replica count.
  if (desired !== expectedReplicas)
    throw new CheckFailed(`Deployment server has spec.replicas ${desired}, the stack sets ${expectedReplicas}`);
  return available === desired ? undefined : `${available} of ${desired} replicas available`;
}

/** The name of a Ready pod behind a Service (port-forwards go to pods, as kubectl's do). */
async function readyPodOf({ core }: Clients, namespace: string, service: string): Promise<string> {
  const selector = (await core.readNamespacedService({ name: service, namespace })).spec?.selector ?? {};
  const labelSelector = Object.entries(selector)
    .map(([key, value]) => `${key}=${value}`)
    .join(",");
  if (labelSelector === "") throw new Error(`service ${namespace}/${service} has no selector`);
  const pods = (await core.listNamespacedPod({ namespace, labelSelector })).items;
  const pod = pods.find((candidate) => !candidate.metadata?.deletionTimestamp && isTrue(candidate.status?.conditions, "Ready"));
  if (!pod?.metadata?.name) throw new Error(`no Ready pod behind service ${namespace}/${service}`);
  return pod.metadata.name;
}

interface WebSocketLike {
  on(event: "close" | "error", listener: () => void): void;
  close(): void;
}

/**
 * Runs `use` with a local port forwarded to `port` of a pod, through the API server
 * (client-node's PortForward: no kubectl needed). Each local connection gets its own stream.
 */
async function withPortForward<T>(
  clients: Clients,
  namespace: string,
  pod: string,
  port: number,
  use: (localPort: number) => Promise<T>,
): Promise<T> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", (error) => {
      log(`port-forward to ${namespace}/${pod}:${port}: local connection failed: ${error.message}`);
      socket.destroy();
    });
    clients.forward.portForward(namespace, pod, [port], socket, null, socket).then(
      (result) => {
        // Without retries it is the WebSocket itself (typed by `ws`, whose types are not installed):
        // close each side with the other.
        if (typeof result === "function") return;
        const connection = result as unknown as WebSocketLike;
        connection.on("close", () => socket.destroy());
        connection.on("error", () => {
          log(`port-forward to ${namespace}/${pod}:${port}: the API server's stream failed`);
          socket.destroy();
        });
        socket.on("close", () => connection.close());
      },
      (error: unknown) => {
        log(`port-forward to ${namespace}/${pod}:${port} failed: ${messageOf(error)}`);
        socket.destroy();
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  try {
    return await use((server.address() as net.AddressInfo).port);
  } finally {
    sockets.forEach((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

async function httpGet(url: string, stop: AbortSignal): Promise<{ status: number; body: string }> {
  const response = await fetch(url, { signal: AbortSignal.any([AbortSignal.timeout(15_000), stop]) });
  return { status: response.status, body: await response.text() };
}

async function serverHealthy(clients: Clients): Promise<string | undefined> {
  const pod = await readyPodOf(clients, serverNamespace, "server");
  const { status, body } = await withPortForward(clients, serverNamespace, pod, 8080, (localPort) =>
    httpGet(`http://127.0.0.1:${localPort}/health`, clients.stop),
  );
  return status === 200 && body.trim() === "OK" ? undefined : `pod ${pod} answered ${status} ${JSON.stringify(body.slice(0, 200))}`;
}

interface Target {
  labels?: Record<string, string>;
  scrapePool?: string;
  scrapeUrl?: string;
  health?: string;
  lastError?: string;
}
interface TargetsResponse {
  data?: { activeTargets?: Target[] };
}

/** A GET of Prometheus' HTTP API (`path` with its query) on a Ready Prometheus pod: the body, or what went wrong. */
async function prometheusApi(clients: Clients, path: string): Promise<{ body: string } | string> {
  const pod = await readyPodOf(clients, monitoringNamespace, "prometheus-operated");
  const { status, body } = await withPortForward(clients, monitoringNamespace, pod, 9090, (localPort) =>
    httpGet(`http://127.0.0.1:${localPort}${path}`, clients.stop),
  );
  return status === 200 ? { body } : `${path.split("?")[0]} answered ${status}`;
}

/** Prometheus' active targets, or what went wrong asking for them. */
async function activeTargets(clients: Clients): Promise<Target[] | string> {
  const answer = await prometheusApi(clients, "/api/v1/targets");
  if (typeof answer === "string") return answer;
  return (JSON.parse(answer.body) as TargetsResponse).data?.activeTargets ?? [];
}

const describeTarget = (target: Target) =>
  `${target.labels?.job ?? "?"} ${target.scrapeUrl ?? ""} ${target.health ?? "unknown"}${target.lastError ? `: ${target.lastError}` : ""}`;

async function prometheusScrapesServer(clients: Clients): Promise<string | undefined> {
  const all = await activeTargets(clients);
  if (typeof all === "string") return all;
  const targets = all.filter((target) => target.labels?.namespace === serverNamespace && target.labels.service === "server");
  if (targets.length === 0) return "no active target for service server/server yet";
  if (targets.some((target) => target.health === "up")) return undefined;
  return targets.map(describeTarget).join("; ");
}

/** Every Flux controller is scraped through the PodMonitor the program creates, and is up. */
async function fluxTargetsUp(clients: Clients, fluxNamespace: string): Promise<string | undefined> {
  const all = await activeTargets(clients);
  if (typeof all === "string") return all;
  // A PodMonitor's targets are in the scrape pool podMonitor/<namespace>/<name>/<endpoint>.
  const flux = all.filter((target) => target.scrapePool?.startsWith(`podMonitor/${fluxNamespace}/flux-system/`));
  if (flux.length < fluxControllerCount) return `${flux.length} Flux controller targets, not ${fluxControllerCount}`;
  const notUp = flux.filter((target) => target.health !== "up");
  return notUp.length === 0 ? undefined : notUp.map(describeTarget).join("; ");
}
const fluxControllerCount = 6;

/** No target is down: the chart scrapes nothing kind keeps on a node's loopback (etcd, scheduler, ...). */
async function everyTargetUp(clients: Clients): Promise<string | undefined> {
  const all = await activeTargets(clients);
  if (typeof all === "string") return all;
  const notUp = all.filter((target) => target.health !== "up");
  return notUp.length === 0 ? undefined : `${notUp.length} of ${all.length} targets not up: ${notUp.map(describeTarget).join("; ")}`;
}

/** Prometheus' answer to an instant query: its series' labels, or what went wrong. */
async function prometheusQuery(clients: Clients, query: string): Promise<Record<string, string>[] | string> {
  const answer = await prometheusApi(clients, `/api/v1/query?query=${encodeURIComponent(query)}`);
  if (typeof answer === "string") return answer;
  return ((JSON.parse(answer.body) as { data?: { result?: { metric?: Record<string, string> }[] } }).data?.result ?? []).map(
    (entry) => entry.metric ?? {},
  );
}

/**
 * Flux Operator is scraped, and reports the FluxInstance Ready (flux_instance_info) and the
 * stack's ImagePolicy Ready (flux_resource_info, one series per Flux object).
 */
async function fluxStateInPrometheus(clients: Clients, fluxNamespace: string, policy: string): Promise<string | undefined> {
  for (const query of [
    `flux_instance_info{name="flux",exported_namespace="${fluxNamespace}"}`,
    `flux_resource_info{kind="ImagePolicy",name="${policy}",exported_namespace="${fluxNamespace}"}`,
  ]) {
    const series = await prometheusQuery(clients, query);
    if (typeof series === "string") return series;
    if (series.length === 0) return `no ${query} series yet`;
    if (!series.some((labels) => labels.ready === "True")) return `${query} has ready=${series.map((labels) => labels.ready).join(", ")}`;
  }
  return undefined;
}

interface RulesResponse {
  data?: { groups?: { name?: string; rules?: { name?: string; type?: string; health?: string; lastError?: string }[] }[] };
}

/** Prometheus has loaded the program's alert rules on Flux's state, and evaluates them without error. */
async function fluxAlertRulesLoaded(clients: Clients): Promise<string | undefined> {
  const answer = await prometheusApi(clients, "/api/v1/rules?type=alert");
  if (typeof answer === "string") return answer;
  const rules = ((JSON.parse(answer.body) as RulesResponse).data?.groups ?? []).flatMap((group) => group.rules ?? []);
  const rule = rules.find((candidate) => candidate.name === "FluxObjectNotReady");
  if (!rule) return `no FluxObjectNotReady among ${rules.length} alert rules yet`;
  return rule.health === "ok"
    ? undefined
    : `FluxObjectNotReady health ${rule.health ?? "unknown"}${rule.lastError ? `: ${rule.lastError}` : ""}`;
}

/** The tag the stack's ImagePolicy picked, as Prometheus has it from kube-state-metrics (gotk_image_policy_info). */
async function imagePolicyTagInPrometheus(clients: Clients, policy: string, tag: string): Promise<string | undefined> {
  const series = await prometheusQuery(clients, `gotk_image_policy_info{name="${policy}"}`);
  if (typeof series === "string") return series;
  if (series.length === 0) return `no gotk_image_policy_info series for ${policy} yet`;
  const tags = series.map((labels) => labels.tag);
  return tags.includes(tag) ? undefined : `gotk_image_policy_info for ${policy} has tag ${tags.join(", ")}, not ${tag}`;
}

/** Everything the environment promises, checked against the live cluster; `stop` ends every wait. */
export async function checkEnvironment(stack: Stack, run: Run, stop: AbortSignal): Promise<void> {
  const outputs = await stack.outputs();
  const kubeconfig: unknown = outputs.kubeconfig?.value;
  if (typeof kubeconfig !== "string" || kubeconfig === "") throw new CheckFailed("stack output kubeconfig is missing");
  const fluxNamespace = typeof outputs.fluxNamespace?.value === "string" ? outputs.fluxNamespace.value : "flux-system";
  const expectedReplicas = Number(stackSetting(run.projectDir, run.stackName, "gitops:server").replicas ?? 1);
  const clients = await clientsFor(kubeconfig, stop);
  const waitFor = (description: string, check: () => Promise<string | undefined>, timeoutMs: number, intervalMs?: number) =>
    waitUntil(description, check, timeoutMs, stop, intervalMs);

  const fluxVersion = typeof outputs.fluxVersion?.value === "string" ? outputs.fluxVersion.value : "";
  await waitFor("all nodes Ready", () => nodesReady(clients), 2 * minute);
  await waitFor(
    `FluxInstance ${fluxNamespace}/flux Ready=True with Flux ${fluxVersion}`,
    () => fluxInstanceReady(clients, fluxNamespace, fluxVersion),
    3 * minute,
  );
  await waitFor(`every Deployment in ${fluxNamespace} Available`, () => deploymentsAvailable(clients, fluxNamespace), 3 * minute);
  await waitFor(
    "the Flux web UI answers on Flux Operator's port 9080 and lists the FluxInstance",
    () => webUiAnswers(clients, fluxNamespace),
    minute,
  );
  await waitFor(`HelmRelease ${monitoringNamespace}/prometheus-operator Ready=True`, () => prometheusReleaseReady(clients), 2 * minute);
  await waitFor(
    `Deployment ${serverNamespace}/server has ${expectedReplicas} replicas available`,
    () => serverReplicasAvailable(clients, expectedReplicas),
    3 * minute,
  );
  await waitFor("GET /health on a server pod answers OK", () => serverHealthy(clients), minute);
  // Prometheus scrapes every 10s, but discovers the ServiceMonitor only after its config reloads.
  await waitFor("Prometheus reports the server target up", () => prometheusScrapesServer(clients), 3 * minute, 10_000);
  await waitFor(
    "Prometheus scrapes every Flux controller (the Flux PodMonitor), all up",
    () => fluxTargetsUp(clients, fluxNamespace),
    3 * minute,
    10_000,
  );
  await waitFor("every target Prometheus scrapes is up", () => everyTargetUp(clients), 2 * minute, 10_000);
  // Flux's state in Prometheus: the operator's flux_instance_info and flux_resource_info, and the alert rules on them.
  await waitFor(
    `Prometheus has Flux Operator's metrics: the FluxInstance and ImagePolicy server-${run.stackName} Ready`,
    () => fluxStateInPrometheus(clients, fluxNamespace, `server-${run.stackName}`),
    3 * minute,
    10_000,
  );
  await waitFor(
    "Prometheus has loaded the FluxObjectNotReady and FluxInstanceNotReady alert rules, healthy",
    () => fluxAlertRulesLoaded(clients),
    3 * minute,
    10_000,
  );
  // Which tag runs where: the ImagePolicy's tag, queryable in Prometheus (kube-state-metrics).
  const image = stackSetting(run.projectDir, run.stackName, "gitops:server").image;
  const tag = typeof image === "string" ? (image.split(":").at(-1) ?? "") : "";
  await waitFor(
    `Prometheus has the tag of ImagePolicy server-${run.stackName} (gotk_image_policy_info)`,
    () => imagePolicyTagInPrometheus(clients, `server-${run.stackName}`, tag),
    3 * minute,
    10_000,
  );
}
