// End-to-end suite: `npm run test:e2e` (node --import tsx test/e2e/e2e.ts [--timings <path>]).
// Brings up a throw-away copy of the `dev` environment under its own stack and cluster name,
// checks the live cluster, checks that preview and refresh see no drift, destroys it, and
// records how long each phase took. Needs Docker, kind and the Pulumi CLI; without them it
// prints one `e2e: skipped: ...` line and exits 0. Not part of `npm test` (the name does not
// end in .test.ts).
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import * as YAML from "yaml";
// Types only: the modules themselves load after the prerequisite check, so a skip is instant.
import type * as K8s from "@kubernetes/client-node";
import type { EngineEvent, Stack } from "@pulumi/pulumi/automation";

const projectRoot = path.resolve(__dirname, "..", "..");
const baseStack = "dev";
// dev keeps the default namespace names (README "Settings"); Flux's comes from the stack output.
const serverNamespace = "server";
const monitoringNamespace = "monitoring";
const minute = 60_000;

/** A check of the live environment that did not hold: its message names what was expected. */
class CheckFailed extends Error {}

/** Aborted by Ctrl-C: stops the running Pulumi operation or wait, then cleanup runs. */
const interrupt = new AbortController();

function log(message: string): void {
  console.log(`e2e: ${message}`);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Automation API errors carry the whole Pulumi output, which was already streamed: keep the end. */
function lastLines(text: string, count = 25): string {
  const lines = text.trimEnd().split("\n");
  return lines.length <= count ? lines.join("\n") : ["...", ...lines.slice(-count)].join("\n");
}

// ---------------------------------------------------------------------------------------------
// Prerequisites and tool versions

function runTool(command: string, args: readonly string[], timeoutMs = 30_000) {
  const result = spawnSync(command, args, { encoding: "utf8", timeout: timeoutMs });
  const notFound = result.error !== undefined && "code" in result.error && result.error.code === "ENOENT";
  return { ok: !result.error && result.status === 0, found: !notFound, stdout: result.stdout ?? "" };
}

/** What this machine lacks to run the suite; empty when everything is there. */
function missingPrerequisites(): string[] {
  const missing: string[] = [];
  // `docker info` talks to the daemon: the client alone cannot run kind.
  const docker = runTool("docker", ["info"]);
  if (!docker.found) missing.push("Docker (docker not on PATH)");
  else if (!docker.ok) missing.push("Docker daemon (docker info failed)");
  if (!runTool("kind", ["version"]).found) missing.push("kind (not on PATH)");
  if (!runTool("pulumi", ["version"]).found) missing.push("pulumi (not on PATH)");
  return missing;
}

function toolVersions() {
  const version = (command: string, args: readonly string[]) => runTool(command, args).stdout.trim() || "unknown";
  return {
    kind: version("kind", ["version"]),
    pulumi: version("pulumi", ["version"]),
    docker: version("docker", ["version", "--format", "client {{.Client.Version}}, server {{.Server.Version}}"]),
  };
}

// ---------------------------------------------------------------------------------------------
// Timings

/** A phase that failed: the message says which one, then why. */
class PhaseFailed extends Error {
  constructor(
    readonly phase: string,
    readonly reason: unknown,
  ) {
    super(reason instanceof CheckFailed ? reason.message : `${phase} failed: ${lastLines(messageOf(reason))}`);
  }
}

interface PhaseTiming {
  readonly phase: string;
  readonly seconds: number;
  readonly ok: boolean;
  /** The up milestones are measured from the start of `up`, not from the previous phase. */
  readonly sinceUpStart?: boolean;
}

class Timings {
  readonly phases: PhaseTiming[] = [];

  has(phase: string): boolean {
    return this.phases.some((timing) => timing.phase === phase);
  }

  record(phase: string, milliseconds: number, ok = true, sinceUpStart = false): void {
    this.phases.push({ phase, seconds: Math.round(milliseconds / 100) / 10, ok, ...(sinceUpStart && { sinceUpStart }) });
  }

  /** Runs one phase; its time is recorded whether it succeeds or fails. */
  async time<T>(phase: string, run: () => Promise<T>): Promise<T> {
    const start = Date.now();
    log(`${phase}: started`);
    try {
      const result = await run();
      // An operation that ignored Ctrl-C and finished anyway still does not count.
      interrupt.signal.throwIfAborted();
      this.record(phase, Date.now() - start);
      log(`${phase}: done`);
      return result;
    } catch (error) {
      this.record(phase, Date.now() - start, false);
      throw new PhaseFailed(phase, error);
    }
  }

  table(): string {
    const width = Math.max(...this.phases.map((timing) => timing.phase.length), "phase".length);
    const rows = this.phases.map((timing) => {
      const note = [timing.sinceUpStart ? "since up start" : "", timing.ok ? "" : "FAILED"].filter(Boolean).join(", ");
      return `${timing.phase.padEnd(width)}  ${timing.seconds.toFixed(1).padStart(8)}  ${note}`.trimEnd();
    });
    return [`${"phase".padEnd(width)}  ${"seconds".padStart(8)}`, ...rows].join("\n");
  }
}

/** Up's milestones: the resource whose completion marks each one. */
const upMilestones: Readonly<Record<string, string>> = {
  "::cluster-kind": "cluster create",
  "::flux-release": "Flux ready",
  "::monitoring-prometheus": "Prometheus ready",
};

/** Records a milestone when the engine reports its resource's outputs (the resource is done). */
function milestoneRecorder(timings: Timings, upStart: number): (event: EngineEvent) => void {
  return (event) => {
    const urn = event.resOutputsEvent?.metadata.urn;
    if (urn === undefined) return;
    for (const [suffix, phase] of Object.entries(upMilestones)) {
      if (urn.endsWith(suffix) && !timings.has(phase)) timings.record(phase, Date.now() - upStart, true, true);
    }
  };
}

// ---------------------------------------------------------------------------------------------
// The throw-away project and stack

interface Run {
  readonly id: string;
  readonly stackName: string;
  readonly clusterName: string;
  readonly projectDir: string;
  readonly stateDir: string;
}

/** dev's stack file without what belongs to dev's passphrase (salt, encrypted values). */
function stackFileFromBase(text: string): string {
  const document = YAML.parseDocument(text);
  for (const key of ["encryptionsalt", "secretsprovider", "encryptedkey"]) document.delete(key);
  const config = document.get("config");
  if (YAML.isMap(config)) {
    for (const item of [...config.items]) {
      if (YAML.isMap(item.value) && item.value.has("secure")) config.delete(item.key);
    }
  }
  return document.toString();
}

/** A copy of the project as a user's clone has it, with node_modules linked, in os.tmpdir(). */
function copyProject(stackName: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gitops-e2e-project-"));
  for (const entry of ["infra", "stacks", "Pulumi.yaml", `Pulumi.${baseStack}.yaml`, "package.json", "tsconfig.json"]) {
    fs.cpSync(path.join(projectRoot, entry), path.join(dir, entry), { recursive: true });
  }
  fs.symlinkSync(path.join(projectRoot, "node_modules"), path.join(dir, "node_modules"));
  // The new stack starts from dev's settings.
  const baseFile = fs.readFileSync(path.join(projectRoot, `Pulumi.${baseStack}.yaml`), "utf8");
  fs.writeFileSync(path.join(dir, `Pulumi.${stackName}.yaml`), stackFileFromBase(baseFile));
  return dir;
}

/** One key of the stack file's config, as plain data. */
function stackSetting(projectDir: string, stackName: string, key: string): Record<string, unknown> {
  const file = YAML.parse(fs.readFileSync(path.join(projectDir, `Pulumi.${stackName}.yaml`), "utf8")) as {
    config?: Record<string, unknown>;
  } | null;
  const value = file?.config?.[key];
  return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {};
}

async function createStack(run: Run): Promise<Stack> {
  // The file itself: an ES import does not resolve the package's directory index.
  const { LocalWorkspace } = await import("@pulumi/pulumi/automation/index.js");
  const stack = await LocalWorkspace.createOrSelectStack(
    { stackName: run.stackName, workDir: run.projectDir },
    {
      envVars: {
        // Its own state and passphrase: nothing of the user's stacks is read or touched.
        PULUMI_BACKEND_URL: pathToFileURL(run.stateDir).href,
        PULUMI_CONFIG_PASSPHRASE: randomBytes(24).toString("hex"),
        PULUMI_SKIP_UPDATE_CHECK: "true",
      },
    },
  );
  // A unique cluster name, so the suite never collides with `npm run up -- dev`.
  const cluster = { ...stackSetting(run.projectDir, run.stackName, "gitops:cluster"), name: run.clusterName };
  await stack.setConfig("gitops:cluster", { value: JSON.stringify(cluster) });
  return stack;
}

/** Pulumi's output, line by line, behind a prefix. */
function prefixedOutput(prefix: string): { write: (chunk: string) => void; flush: () => void } {
  let pending = "";
  const emit = (line: string) => process.stdout.write(`${prefix} | ${line}\n`);
  return {
    write(chunk) {
      const lines = (pending + chunk).split("\n");
      pending = lines.pop() ?? "";
      lines.forEach(emit);
    },
    flush() {
      if (pending !== "") emit(pending);
      pending = "";
    },
  };
}

type OperationOptions = { onOutput: (out: string) => void; onError: (err: string) => void; signal?: AbortSignal };

/** Runs one Pulumi operation with its output streamed under `pulumi <name> |`. */
async function pulumiOperation<T>(name: string, operation: (options: OperationOptions) => Promise<T>, cancellable = true): Promise<T> {
  const output = prefixedOutput(`pulumi ${name}`);
  const write = (text: string) => output.write(text);
  try {
    return await operation({ onOutput: write, onError: write, ...(cancellable && { signal: interrupt.signal }) });
  } finally {
    output.flush();
  }
}

// ---------------------------------------------------------------------------------------------
// Checks against the live cluster

interface Clients {
  readonly config: K8s.KubeConfig;
  readonly core: K8s.CoreV1Api;
  readonly apps: K8s.AppsV1Api;
  readonly custom: K8s.CustomObjectsApi;
  readonly forward: K8s.PortForward;
}

async function clientsFor(kubeconfig: string): Promise<Clients> {
  const k8s = await import("@kubernetes/client-node");
  const config = new k8s.KubeConfig();
  config.loadFromString(kubeconfig);
  return {
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
async function waitFor(description: string, check: () => Promise<string | undefined>, timeoutMs: number, intervalMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    interrupt.signal.throwIfAborted();
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
    await sleep(intervalMs, undefined, { signal: interrupt.signal });
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

async function serverReplicasAvailable({ apps }: Clients, expectedReplicas: number): Promise<string | undefined> {
  const deployment = await apps.readNamespacedDeployment({ name: "server", namespace: serverNamespace });
  const desired = deployment.spec?.replicas ?? 1;
  const available = deployment.status?.availableReplicas ?? 0;
  // The stack's setting must have reached the cluster, not just any replica count.
  if (desired !== expectedReplicas) throw new CheckFailed(`Deployment server has spec.replicas ${desired}, the stack sets ${expectedReplicas}`);
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
async function withPortForward<T>(clients: Clients, namespace: string, pod: string, port: number, use: (localPort: number) => Promise<T>): Promise<T> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    clients.forward.portForward(namespace, pod, [port], socket, null, socket).then(
      (result) => {
        // Without retries it is the WebSocket itself (typed by `ws`, whose types are not installed):
        // close each side with the other.
        if (typeof result === "function") return;
        const connection = result as unknown as WebSocketLike;
        connection.on("close", () => socket.destroy());
        connection.on("error", () => socket.destroy());
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

async function httpGet(url: string): Promise<{ status: number; body: string }> {
  const response = await fetch(url, { signal: AbortSignal.any([AbortSignal.timeout(15_000), interrupt.signal]) });
  return { status: response.status, body: await response.text() };
}

async function serverHealthy(clients: Clients): Promise<string | undefined> {
  const pod = await readyPodOf(clients, serverNamespace, "server");
  const { status, body } = await withPortForward(clients, serverNamespace, pod, 8080, (localPort) => httpGet(`http://127.0.0.1:${localPort}/health`));
  return status === 200 && body.trim() === "OK" ? undefined : `pod ${pod} answered ${status} ${JSON.stringify(body.slice(0, 200))}`;
}

interface Target {
  labels?: Record<string, string>;
  scrapeUrl?: string;
  health?: string;
  lastError?: string;
}
interface TargetsResponse {
  data?: { activeTargets?: Target[] };
}

/** Prometheus' active targets, or what went wrong asking for them. */
async function activeTargets(clients: Clients): Promise<Target[] | string> {
  const pod = await readyPodOf(clients, monitoringNamespace, "prometheus-operated");
  const { status, body } = await withPortForward(clients, monitoringNamespace, pod, 9090, (localPort) =>
    httpGet(`http://127.0.0.1:${localPort}/api/v1/targets`),
  );
  if (status !== 200) return `/api/v1/targets answered ${status}`;
  return (JSON.parse(body) as TargetsResponse).data?.activeTargets ?? [];
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

/** No target is down: the chart scrapes nothing kind keeps on a node's loopback (etcd, scheduler, ...). */
async function everyTargetUp(clients: Clients): Promise<string | undefined> {
  const all = await activeTargets(clients);
  if (typeof all === "string") return all;
  const notUp = all.filter((target) => target.health !== "up");
  return notUp.length === 0 ? undefined : `${notUp.length} of ${all.length} targets not up: ${notUp.map(describeTarget).join("; ")}`;
}

/** Everything the environment promises, checked against the live cluster. */
async function checkEnvironment(stack: Stack, run: Run): Promise<void> {
  const outputs = await stack.outputs();
  const kubeconfig: unknown = outputs.kubeconfig?.value;
  if (typeof kubeconfig !== "string" || kubeconfig === "") throw new CheckFailed("stack output kubeconfig is missing");
  const fluxNamespace = typeof outputs.fluxNamespace?.value === "string" ? outputs.fluxNamespace.value : "flux-system";
  const expectedReplicas = Number(stackSetting(run.projectDir, run.stackName, "gitops:server").replicas ?? 1);
  const clients = await clientsFor(kubeconfig);

  await waitFor("all nodes Ready", () => nodesReady(clients), 2 * minute);
  await waitFor(`every Deployment in ${fluxNamespace} Available`, () => deploymentsAvailable(clients, fluxNamespace), 3 * minute);
  await waitFor(`HelmRelease ${monitoringNamespace}/prometheus-operator Ready=True`, () => prometheusReleaseReady(clients), 2 * minute);
  await waitFor(`Deployment ${serverNamespace}/server has ${expectedReplicas} replicas available`, () => serverReplicasAvailable(clients, expectedReplicas), 3 * minute);
  await waitFor("GET /health on a server pod answers OK", () => serverHealthy(clients), minute);
  // Prometheus scrapes every 10s, but discovers the ServiceMonitor only after its config reloads.
  await waitFor("Prometheus reports the server target up", () => prometheusScrapesServer(clients), 3 * minute, 10_000);
  await waitFor("every target Prometheus scrapes is up", () => everyTargetUp(clients), 2 * minute, 10_000);
}

function clusterExists(clusterName: string): boolean {
  const result = runTool("kind", ["get", "clusters"]);
  if (!result.ok) throw new CheckFailed("kind get clusters failed");
  return result.stdout.split("\n").some((line) => line.trim() === clusterName);
}

// ---------------------------------------------------------------------------------------------
// Cleanup and report

interface State {
  stack?: Stack;
  destroyed: boolean;
}

/** Leaves nothing behind, whatever happened: each step runs even if the one before failed. */
async function cleanup(run: Run, state: State): Promise<void> {
  if (state.stack && !state.destroyed) {
    log("cleanup: destroying the stack");
    const stack = state.stack;
    // The cluster may be gone or half made: do not fail on Kubernetes objects it cannot reach.
    stack.workspace.envVars.PULUMI_K8S_DELETE_UNREACHABLE = "true";
    try {
      await pulumiOperation("cleanup destroy", (options) => stack.destroy(options), false);
    } catch (error) {
      log(`cleanup: destroy failed (ignored): ${messageOf(error).split("\n")[0]}`);
    }
  }
  // Safety net: kind deletes a missing cluster without error.
  const kindDelete = spawnSync("kind", ["delete", "cluster", "--name", run.clusterName], { stdio: "inherit", timeout: 5 * minute });
  if (kindDelete.status !== 0) log(`cleanup: kind delete cluster --name ${run.clusterName} failed; delete it by hand`);
  if (state.stack) {
    try {
      await state.stack.workspace.removeStack(run.stackName, { force: true });
    } catch (error) {
      log(`cleanup: removing stack ${run.stackName} failed (ignored): ${messageOf(error).split("\n")[0]}`);
    }
  }
  for (const dir of [run.projectDir, run.stateDir]) fs.rmSync(dir, { recursive: true, force: true });
}

type Result = "passed" | "failed" | "interrupted";

function writeReport(file: string, run: Run, timings: Timings, result: Result, failure: string | undefined): void {
  const report = {
    date: new Date().toISOString(),
    result,
    ...(failure !== undefined && { failure }),
    stack: run.stackName,
    cluster: run.clusterName,
    machine: {
      platform: os.platform(),
      arch: os.arch(),
      cpus: os.cpus().length,
      totalMemoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    },
    versions: toolVersions(),
    phases: timings.phases,
  };
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
}

// ---------------------------------------------------------------------------------------------
// Main

function parseOptions(argv: string[]): { timingsFile: string } {
  const { values } = parseArgs({ args: argv, options: { timings: { type: "string" } } });
  return { timingsFile: path.resolve(values.timings ?? path.join(projectRoot, "out", "e2e-timings.json")) };
}

/** First Ctrl-C: stop what runs and clean up. Second: leave at once, saying what may be left. */
function handleInterrupts(run: Run): void {
  const onSignal = () => {
    if (!interrupt.signal.aborted) {
      log("interrupted: cleaning up (interrupt again to exit at once)");
      interrupt.abort(new Error("interrupted"));
      return;
    }
    log(`interrupted again: exiting without cleanup; may be left: kind cluster ${run.clusterName}, ${run.projectDir}, ${run.stateDir}`);
    process.exit(130);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
}

async function main(argv: string[]): Promise<number> {
  const options = parseOptions(argv);
  const missing = missingPrerequisites();
  if (missing.length > 0) {
    console.log(`e2e: skipped: ${missing.join(", ")}`);
    return 0;
  }

  const id = randomBytes(4).toString("hex");
  const stackName = `e2e-${id}`;
  const run: Run = {
    id,
    stackName,
    clusterName: `gitops-e2e-${id}`,
    projectDir: copyProject(stackName),
    stateDir: fs.mkdtempSync(path.join(os.tmpdir(), "gitops-e2e-state-")),
  };
  handleInterrupts(run);
  log(`stack ${run.stackName}, cluster ${run.clusterName}, project copy ${run.projectDir}`);

  const timings = new Timings();
  const state: State = { destroyed: false };
  let result: Result = "failed";
  let failure: string | undefined;
  try {
    const stack = (state.stack = await timings.time("stack setup", () => createStack(run)));
    await timings.time("up total", () => {
      const upStart = Date.now();
      return pulumiOperation("up", (options) => stack.up({ ...options, onEvent: milestoneRecorder(timings, upStart) }));
    });
    await timings.time("checks", () => checkEnvironment(stack, run));
    // A second look must find nothing to change: the program and the cluster agree.
    await timings.time("preview", () => pulumiOperation("preview", (options) => stack.preview({ ...options, expectNoChanges: true })));
    await timings.time("refresh", () => pulumiOperation("refresh", (options) => stack.refresh({ ...options, expectNoChanges: true })));
    await timings.time("destroy", () => pulumiOperation("destroy", (options) => stack.destroy(options)));
    state.destroyed = true;
    if (clusterExists(run.clusterName)) throw new CheckFailed(`kind cluster ${run.clusterName} still exists after destroy`);
    log(`ok: kind no longer lists cluster ${run.clusterName}`);
    result = "passed";
  } catch (error) {
    result = interrupt.signal.aborted ? "interrupted" : "failed";
    failure = interrupt.signal.aborted ? "interrupted" : messageOf(error);
  } finally {
    await cleanup(run, state);
  }

  console.log(`\n${timings.table()}\n`);
  writeReport(options.timingsFile, run, timings, result, failure);
  const shown = path.relative(process.cwd(), options.timingsFile);
  log(`timings written to ${shown.startsWith("..") ? options.timingsFile : shown}`);
  switch (result) {
    case "passed":
      log("passed");
      return 0;
    case "interrupted":
      console.error("e2e: interrupted (cleanup done)");
      return 130;
    case "failed":
      console.error(`e2e: FAILED: ${failure ?? "unknown error"}`);
      return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`e2e: ${messageOf(error)}`);
    process.exit(1);
  },
);
