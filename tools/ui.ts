// npm run ui -- <env> [--port N]
// Opens the Flux web UI of an environment: Flux Operator serves it on port 9080 of its pod, behind
// a ClusterIP Service, so the tool listens on 127.0.0.1 only and forwards each connection to that
// pod through the Kubernetes API (client-node's PortForward, one WebSocket per connection; no
// kubectl needed), until Ctrl-C.
import * as net from "node:net";
import * as path from "node:path";
import { Writable } from "node:stream";
import { CoreV1Api, PortForward, type KubeConfig, type V1Pod } from "@kubernetes/client-node";
import {
  helpText,
  parseCommandLine,
  reported,
  runMain,
  say,
  theEnvironment,
  ToolError,
  usageFailure,
  UsageError,
  type Io,
  type Output,
  type ToolHelp,
} from "./cli.ts";
import { clusterAccess, loadClusterConfig, unreachableCluster } from "./clusterApi.ts";
import { listEnvironments, loadEnvironment } from "./environments.ts";
import type { Signals } from "./stopping.ts";

/** The label the Flux Operator chart gives its pod (its selector label, templates/_helpers.tpl). */
export const operatorSelector = "app.kubernetes.io/name=flux-operator";
/** The container port of the operator's web server (`http-web`, templates/deployment.yaml). */
export const webPort = 9080;
/** Only this machine may reach the forwarded UI: it is the cluster's, with Flux Operator's permissions. */
const host = "127.0.0.1";

export const help: ToolHelp = {
  command: "ui",
  summary: `Opens the environment's Flux web UI: forwards a port on ${host} to the Flux Operator's web server (port ${webPort} of its pod), prints the URL, and keeps forwarding until Ctrl-C.`,
  arguments: "<env>",
  options: [["--port N", `the local port to listen on, on ${host} only (default ${webPort})`]],
  examples: ["npm run ui -- dev", "npm run ui -- prod --port 9081"],
  takesEnvironments: true,
};

/** A --port value: a whole number from 1 to 65535. */
export function parsePort(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port > 0 && port < 65536 ? port : undefined;
}

/** Whether a pod can take connections: Running, Ready, not being deleted. */
export function podServes(pod: V1Pod): boolean {
  return (
    pod.status?.phase === "Running" &&
    pod.metadata?.deletionTimestamp === undefined &&
    (pod.status.conditions ?? []).some((condition) => condition.type === "Ready" && condition.status === "True")
  );
}

/** Where the environment's Flux runs, and how to name it in messages. */
interface UiTarget {
  readonly env: string;
  readonly namespace: string;
  /** The cluster as messages name it: gitops-dev, context team-cluster. */
  readonly cluster: string;
}

/** The WebSocket a forwarded connection runs through (client-node hands back a `ws` WebSocket). */
interface ForwardSocket {
  on(event: "close", listener: () => void): unknown;
  close(): void;
}

function describeRequestError(error: unknown, server: string, target: UiTarget): string {
  const unreachable = unreachableCluster(error, server, target.env);
  if (unreachable !== undefined) return unreachable;
  // The API's answers carry a status code.
  const { message, code, body } = error as { message?: string; code?: unknown; body?: unknown };
  if (typeof code === "number") {
    const status = typeof body === "string" ? body : (body as { message?: unknown } | undefined)?.message;
    return `the ${target.env} cluster at ${server} answered ${code} to listing the pods of ${target.namespace}${typeof status === "string" && status !== "" ? `: ${oneLine(status)}` : ""}`;
  }
  return oneLine(message ?? String(error));
}

const oneLine = (text: string) => text.trim().replace(/\s*\n\s*/g, " ");

/** The Running and Ready Flux Operator pod to forward to; a ToolError saying what to do when there is none. */
async function operatorPod(config: KubeConfig, server: string, target: UiTarget): Promise<string> {
  let pods: V1Pod[];
  try {
    pods = (await config.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: target.namespace, labelSelector: operatorSelector }))
      .items;
  } catch (error) {
    throw new ToolError(describeRequestError(error, server, target));
  }
  const serving = pods.find(podServes);
  if (serving?.metadata?.name !== undefined) return serving.metadata.name;
  const where = `in ${target.namespace} of ${target.cluster}`;
  if (pods.length === 0) throw new ToolError(`no running Flux Operator pod ${where}: run npm run up -- ${target.env} first`);
  const states = pods.map(
    (pod) =>
      `${pod.metadata?.name ?? "?"} ${pod.metadata?.deletionTimestamp ? "Terminating" : (pod.status?.phase ?? "Unknown")}, not ready`,
  );
  throw new ToolError(
    `no running Flux Operator pod ${where} (${states.join("; ")}): wait until it is ready (kubectl get pods -n ${target.namespace}), or run npm run up -- ${target.env}`,
  );
}

/** Listens on host:port; a ToolError naming the port and --port when it cannot. */
async function listen(server: net.Server, port: number, env: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port, host, exclusive: true }, () => {
      server.off("error", reject);
      resolve();
    });
  }).catch((error: NodeJS.ErrnoException) => {
    const another = `choose another with --port (npm run ui -- ${env} --port ${port === 65535 ? 9081 : port + 1})`;
    if (error.code === "EADDRINUSE") throw new ToolError(`port ${port} on ${host} is already in use: ${another}`);
    if (error.code === "EACCES") throw new ToolError(`may not listen on port ${port} of ${host} (EACCES): ${another}`);
    throw new ToolError(`cannot listen on ${host}:${port} (${error.code ?? error.message}): ${another}`);
  });
}

/**
 * Forwards `socket` to the pod's web port through one port-forward WebSocket; what the pod's side
 * reports on its error channel is printed as one line (once in a row, not once per connection of a page).
 */
function forwarder(config: KubeConfig, target: UiTarget, pod: string, log: Output, stopping: () => boolean) {
  const portForward = new PortForward(config);
  let lastProblem = "";
  const report = (problem: string) => {
    if (problem === lastProblem || stopping()) return;
    lastProblem = problem;
    say(log, `gitops: ${problem}`);
  };
  return async (socket: net.Socket): Promise<void> => {
    const errors = new Writable({
      write(chunk: Buffer, _encoding, done) {
        const text = oneLine(chunk.toString());
        if (text !== "") report(`${target.namespace}/${pod} port ${webPort}: ${text}`);
        done();
      },
    });
    let webSocket: ForwardSocket;
    try {
      webSocket = (await portForward.portForward(target.namespace, pod, [webPort], socket, errors, socket)) as ForwardSocket;
    } catch (error) {
      const reason = oneLine((error as { message?: string }).message ?? String(error));
      report(
        `cannot forward a connection to ${target.namespace}/${pod} (${reason}): if the pod was replaced, stop and run npm run ui -- ${target.env} again`,
      );
      socket.destroy();
      return;
    }
    // The Host check paused the connection; the forward reads it from here.
    socket.resume();
    // Either side's end ends the other: the pod's closes the browser's connection, and back.
    webSocket.on("close", () => socket.end());
    if (socket.destroyed) webSocket.close();
    else socket.on("close", () => webSocket.close());
  };
}

/** The most of a request's head read before its Host is known; a longer head is refused. */
const headLimit = 16 * 1024;

/** The Host header of an HTTP request head, lower-cased; undefined when it has none. */
export function hostOf(head: string): string | undefined {
  const line = head.split("\r\n").find((candidate) => /^host:/i.test(candidate));
  return line
    ?.slice(line.indexOf(":") + 1)
    .trim()
    .toLowerCase();
}

/** The names of this machine a browser may use for the forward; any port, or none. */
const localNames = new Set([host, "localhost"]);

/** Whether a Host header names this machine (127.0.0.1 or localhost, with or without a port). */
export const namesThisMachine = (hostHeader: string) => localNames.has(hostHeader.replace(/:\d+$/, ""));

/**
 * Waits for the head of the connection's first request and says whether its Host names this
 * machine's forwarded port. A browser page from another site whose name it re-pointed at
 * 127.0.0.1 (DNS rebinding) would otherwise reach the UI as its own origin: its requests carry
 * that site's name as Host. A browser keeps one connection to one host, so the first request
 * speaks for the connection. What was read is put back for the forward.
 */
function checkHost(socket: net.Socket): Promise<{ ok: true } | { ok: false; host: string }> {
  return new Promise((resolve) => {
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const text = head.toString("latin1");
      const end = text.indexOf("\r\n\r\n");
      if (end === -1 && head.length < headLimit) return;
      socket.off("data", onData);
      socket.pause();
      socket.unshift(head);
      const requested = (end === -1 ? undefined : hostOf(text.slice(0, end))) ?? "(none)";
      resolve(namesThisMachine(requested) ? { ok: true } : { ok: false, host: requested });
    };
    socket.on("data", onData);
  });
}

export interface UiDependencies {
  /**
   * Where SIGINT and SIGTERM arrive.
   * @default process
   */
  readonly signals?: Signals;
}

export async function main(argv: readonly string[], io: Io, dependencies: UiDependencies = {}): Promise<number> {
  let env: string;
  let port: number;
  try {
    const { values, positionals } = parseCommandLine(argv, { port: { type: "string", default: String(webPort) } });
    if (values.help) {
      say(io.stdout, helpText(help, listEnvironments(io.root)));
      return 0;
    }
    env = theEnvironment(positionals);
    const parsed = parsePort(values.port);
    if (parsed === undefined) throw new UsageError(`--port ${JSON.stringify(values.port)}: must be a port number from 1 to 65535`);
    port = parsed;
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    return usageFailure(io, help, error.message, listEnvironments(io.root));
  }
  try {
    const { settings } = loadEnvironment(env, io.root);
    const { cluster } = settings;
    const namespace = settings.namespaces.flux;
    const access = clusterAccess(
      env,
      settings,
      io.root,
      `forward port ${webPort} of the Flux Operator pod in ${namespace} with kubectl port-forward --kubeconfig f`,
    );
    const { context } = access;
    const target: UiTarget = {
      env,
      namespace,
      cluster: cluster.kind === "kind" ? cluster.name : context !== undefined ? `context ${context}` : `the ${env} cluster`,
    };
    let loaded: ReturnType<typeof loadClusterConfig>;
    try {
      loaded = loadClusterConfig(access);
    } catch (error) {
      throw new ToolError(
        `cannot read the kubeconfig ${path.relative(io.root, access.kubeconfigPath)}: ${oneLine((error as Error).message)}`,
      );
    }
    const { config, server } = loaded;
    const pod = await operatorPod(config, server, target);
    return await serve(config, target, pod, port, io, dependencies.signals ?? process);
  } catch (error) {
    return reported(error, io);
  }
}

/** Forwards connections to `port` on 127.0.0.1 until SIGINT or SIGTERM; then closes the listener and every connection. */
async function serve(config: KubeConfig, target: UiTarget, pod: string, port: number, io: Io, signals: Signals): Promise<number> {
  let stopping = false;
  const forward = forwarder(config, target, pod, io.stderr, () => stopping);
  const connections = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    connections.add(socket);
    socket.on("close", () => connections.delete(socket));
    socket.on("error", () => socket.destroy()); // a browser that resets its connection, a write after the pod's side closed
    void checkHost(socket).then((checked) => {
      if (checked.ok) return forward(socket);
      const only = `${host}:${port} or localhost:${port}`;
      say(io.stderr, `gitops: refused a request for host ${checked.host}: the UI answers only as ${only}`);
      socket.end(
        "HTTP/1.1 421 Misdirected Request\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n" +
          `This forward of the Flux web UI answers only as ${only}.\n`,
      );
    });
  });
  await listen(server, port, target.env);
  // An error after listening (say, no file descriptors left for a connection) is said, not fatal.
  server.on("error", (error) => say(io.stderr, `gitops: the forward on ${host}:${port} failed: ${error.message}`));
  const origin = `http://${host}:${port}/`;
  // The UI's list of Flux objects, in the environment's Flux namespace (its web app's /resources route).
  const url = `${origin}resources?namespace=${encodeURIComponent(target.namespace)}`;
  // Listening from here: npm passes a terminal's Ctrl-C on, so one Ctrl-C may arrive twice; the second changes nothing.
  let stop: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  const onSignal = () => stop();
  signals.on("SIGINT", onSignal);
  signals.on("SIGTERM", onSignal);
  try {
    say(io.stdout, url);
    say(io.stderr, `gitops: the Flux web UI of ${target.env}, from ${target.namespace}/${pod} port ${webPort}, at ${url} (Ctrl-C stops)`);
    await stopped;
    stopping = true;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of connections) socket.destroy();
    await closed;
  } finally {
    signals.off("SIGINT", onSignal);
    signals.off("SIGTERM", onSignal);
  }
  say(io.stderr, `gitops: stopped forwarding ${origin}`);
  return 0;
}

if (import.meta.main) runMain(main);
