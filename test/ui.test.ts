// npm run ui -- <env>: against a fake Kubernetes API on loopback (in this process) that lists
// pods and speaks the port-forward WebSocket protocol client-node uses (v4.channel.k8s.io), with a
// small HTTP server behind it standing in for the Flux web UI. The tool's main runs in-process,
// with a stand-in for the process's signals; one test runs it as its own process and sends a
// real SIGINT. Nothing waits on the clock: each step waits for an event (the URL line, a close).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { EventEmitter } from "node:events";
import * as http from "node:http";
import { createRequire } from "node:module";
import * as net from "node:net";
import type { Duplex } from "node:stream";
import { after, before, beforeEach, describe, it } from "node:test";
import { main, operatorSelector } from "../tools/ui.ts";
import { asNpmRuns, captureIo, projectCopy } from "./helpers.ts";

const usage = "usage: npm run ui -- <env> [--port N]   (environments: dev, prod)";
const uiBody = "<title>Flux Operator</title> the fake web UI";
const forwardProtocol = "v4.channel.k8s.io";

// ws is client-node's WebSocket library (its dependency, not the project's): taken from where client-node resolves it.
interface ServerWebSocket {
  readonly protocol: string;
  send(data: Buffer): void;
  close(): void;
  on(event: "message", listener: (data: Buffer) => void): unknown;
  on(event: "close", listener: () => void): unknown;
}
interface WebSocketServer {
  handleUpgrade(request: http.IncomingMessage, socket: Duplex, head: Buffer, done: (webSocket: ServerWebSocket) => void): void;
  close(): void;
}
const { WebSocketServer } = createRequire(import.meta.resolve("@kubernetes/client-node"))("ws") as {
  WebSocketServer: new (options: { noServer: true; handleProtocols: (protocols: Set<string>) => string | false }) => WebSocketServer;
};

interface FakePod {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly phase: string;
  readonly ready: boolean;
}
const operatorPod = (name: string, phase = "Running", ready = true): FakePod => ({
  name,
  labels: { "app.kubernetes.io/name": "flux-operator", "app.kubernetes.io/instance": "flux-operator" },
  phase,
  ready,
});
const sourceController: FakePod = { name: "source-controller-7d9", labels: { app: "source-controller" }, phase: "Running", ready: true };

/** A port that was just free. */
async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** Connects to host:port; rejects with the connection's error (ECONNREFUSED when nothing listens there). */
function connect(host: string, port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, host);
    socket.once("connect", () => resolve(socket));
    socket.once("error", reject);
  });
}

/** A GET on its own connection (closed after the answer): its status and body. */
function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (response) => {
        let body = "";
        response.on("data", (chunk: Buffer) => (body += chunk.toString()));
        response.on("end", () => resolve({ status: response.statusCode!, body }));
        response.on("error", reject);
      })
      .on("error", reject);
  });
}

/**
 * The fake cluster: the pod list (filtered by the label selector, as the API server does), and
 * port-forward to a Running pod: each WebSocket's channels 0 (data) and 1 (errors) first carry the
 * port, little-endian; then channel 0 carries the bytes of one TCP connection to the fake UI.
 */
async function fakeCluster() {
  const state = {
    pods: [] as FakePod[],
    /** The pod's side refuses the port: one message on the error channel, then the WebSocket closes. */
    refuse: false,
    podLists: [] as URL[],
    forwards: [] as { pod: string; namespace: string; ports: string | null; protocol: string; authorization?: string }[],
  };
  const ui = http.createServer((_request, response) => response.writeHead(200, { "content-type": "text/html" }).end(uiBody));
  await new Promise<void>((resolve) => ui.listen(0, "127.0.0.1", resolve));
  const uiPort = (ui.address() as net.AddressInfo).port;

  const api = http.createServer((request, response) => {
    const url = new URL(request.url!, "http://api");
    const list = /^\/api\/v1\/namespaces\/([^/]+)\/pods$/.exec(url.pathname);
    if (request.method !== "GET" || !list) {
      response.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ kind: "Status", code: 404 }));
      return;
    }
    state.podLists.push(url);
    const selector = (url.searchParams.get("labelSelector") ?? "").split(",").filter((term) => term !== "");
    const items = state.pods
      .filter((pod) => selector.every((term) => pod.labels[term.split("=")[0]!] === term.split("=")[1]))
      .map((pod) => ({
        metadata: { name: pod.name, namespace: list[1], labels: pod.labels },
        status: { phase: pod.phase, conditions: [{ type: "Ready", status: pod.ready ? "True" : "False" }] },
      }));
    response.writeHead(200, { "content-type": "application/json" });
    response.end(JSON.stringify({ apiVersion: "v1", kind: "PodList", metadata: {}, items }));
  });
  const webSockets = new WebSocketServer({
    noServer: true,
    handleProtocols: (protocols) => (protocols.has(forwardProtocol) ? forwardProtocol : false),
  });
  api.on("upgrade", (request: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(request.url!, "http://api");
    const [, namespace, name] = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/portforward$/.exec(url.pathname) ?? [];
    if (!state.pods.some((pod) => pod.name === name && pod.phase === "Running")) {
      socket.end("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
      return;
    }
    webSockets.handleUpgrade(request, socket, head, (webSocket) => {
      const ports = url.searchParams.get("ports");
      state.forwards.push({
        pod: name!,
        namespace: namespace!,
        ports,
        protocol: webSocket.protocol,
        authorization: request.headers.authorization,
      });
      const port = Buffer.alloc(2);
      port.writeUInt16LE(Number(ports));
      webSocket.send(Buffer.concat([Buffer.from([0]), port]));
      webSocket.send(Buffer.concat([Buffer.from([1]), port]));
      if (state.refuse) {
        const message = `error forwarding port ${ports} to pod ${name}, uid : failed to connect to localhost:${ports}: connection refused`;
        webSocket.send(Buffer.concat([Buffer.from([1]), Buffer.from(message)]));
        webSocket.close();
        return;
      }
      const upstream = net.connect(uiPort, "127.0.0.1");
      upstream.on("data", (chunk: Buffer) => webSocket.send(Buffer.concat([Buffer.from([0]), chunk])));
      upstream.on("close", () => webSocket.close());
      upstream.on("error", () => webSocket.close());
      webSocket.on("message", (data) => {
        if (data[0] === 0) upstream.write(data.subarray(1));
      });
      webSocket.on("close", () => upstream.end());
    });
  });
  await new Promise<void>((resolve) => api.listen(0, "127.0.0.1", resolve));
  return {
    state,
    server: `http://127.0.0.1:${(api.address() as net.AddressInfo).port}`,
    close() {
      webSockets.close();
      for (const server of [api, ui]) {
        server.close();
        server.closeAllConnections();
      }
    },
  };
}

/** A kubeconfig for dev's kind cluster (gitops-dev) whose API server is `server`. */
const kubeconfig = (server: string) => `apiVersion: v1
kind: Config
clusters: [{name: kind-gitops-dev, cluster: {server: "${server}", insecure-skip-tls-verify: true}}]
users: [{name: kind-gitops-dev, user: {token: test}}]
contexts: [{name: kind-gitops-dev, context: {cluster: kind-gitops-dev, user: kind-gitops-dev}}]
current-context: kind-gitops-dev
`;

/** An Io that also hands over the URL line, once the tool prints it. */
function uiIo(root: string) {
  const io = captureIo({ root });
  let printed: (url: string) => void = () => undefined;
  const url = new Promise<string>((resolve) => (printed = resolve));
  const stdout = {
    write(text: string) {
      io.stdout.write(text);
      const line = /^http:\/\/\S+$/m.exec(io.out());
      if (line) printed(line[0]);
    },
  };
  return { ...io, stdout, url };
}

/** Runs ui's main until it prints its URL (it fails the test if the tool ends first). */
async function startUi(root: string, args: string[]) {
  const io = uiIo(root);
  const signals = new EventEmitter();
  const exited = main(args, io, { signals });
  const url = await Promise.race([
    io.url,
    exited.then((code) => {
      throw new Error(`ui exited ${code} before printing its URL: ${io.err()}`);
    }),
  ]);
  return { io, signals, exited, url };
}

describe("ui fails fast with a one-line reason", () => {
  it("exits 1 saying the cluster is not up when the stack has no kubeconfig", async () => {
    const copy = projectCopy();
    try {
      const io = captureIo({ root: copy.root });
      assert.equal(await main(["dev"], io, { signals: new EventEmitter() }), 1);
      assert.equal(io.err(), "gitops: the dev cluster is not up: no kubeconfig at .kube/gitops-dev.yaml (run npm run up -- dev)\n");
      assert.equal(io.out(), "");
    } finally {
      copy.remove();
    }
  });

  it("exits 1 naming the server and the refused connection when the cluster's API server does not answer", async () => {
    const port = await freePort();
    const copy = projectCopy({ ".kube/gitops-dev.yaml": kubeconfig(`http://127.0.0.1:${port}`) });
    try {
      const io = captureIo({ root: copy.root });
      assert.equal(await main(["dev"], io, { signals: new EventEmitter() }), 1);
      assert.equal(
        io.err(),
        `gitops: cannot reach the dev cluster at http://127.0.0.1:${port} (ECONNREFUSED): is Docker running and the cluster listed by \`kind get clusters\`?\n`,
      );
      assert.equal(io.out(), "");
    } finally {
      copy.remove();
    }
  });

  it("exits 2 naming --port and the ports it takes when --port is not a port number", async () => {
    for (const port of ["0", "65536", "80a", "-", "1.5"]) {
      const io = captureIo();
      assert.equal(await main(["dev", "--port", port], io, { signals: new EventEmitter() }), 2, port);
      assert.equal(io.err(), `gitops: --port ${JSON.stringify(port)}: must be a port number from 1 to 65535\n${usage}\n`);
    }
    const io = captureIo();
    assert.equal(await main(["dev", "--port"], io, { signals: new EventEmitter() }), 2);
    assert.equal(io.err(), `gitops: --port needs a value\n${usage}\n`);
  });

  it("exits 2 with its usage when no environment is named", async () => {
    const io = captureIo();
    assert.equal(await main([], io, { signals: new EventEmitter() }), 2);
    assert.equal(io.err(), `gitops: which environment?\n${usage}\n`);
  });
});

describe("ui --help", () => {
  it("prints its usage, what it does, --port and examples on stdout, and exits 0", async () => {
    const io = captureIo();
    assert.equal(await main(["--help"], io, { signals: new EventEmitter() }), 0);
    assert.ok(io.out().startsWith(`${usage}\n\nOpens the environment's Flux web UI`), io.out());
    assert.match(io.out(), /^ {2}--port N +the local port to listen on, on 127\.0\.0\.1 only \(default 9080\)$/m);
    assert.match(io.out(), /^examples:\n {2}npm run ui -- dev\n/m);
    assert.equal(io.err(), "");
  });
});

describe("ui against a cluster (a fake Kubernetes API on loopback)", () => {
  let cluster: Awaited<ReturnType<typeof fakeCluster>>;
  let copy: ReturnType<typeof projectCopy>;

  before(async () => {
    cluster = await fakeCluster();
    copy = projectCopy({ ".kube/gitops-dev.yaml": kubeconfig(cluster.server) });
  });
  after(() => {
    cluster.close();
    copy.remove();
  });
  beforeEach(() => {
    cluster.state.pods = [operatorPod("flux-operator-5c8d-old", "Pending", false), sourceController, operatorPod("flux-operator-5c8d-abc")];
    cluster.state.refuse = false;
    cluster.state.podLists.length = 0;
    cluster.state.forwards.length = 0;
  });

  it("prints the URL on 127.0.0.1, where a GET gets the UI through the Running and Ready operator pod's port 9080", async () => {
    const port = await freePort();
    const { io, signals, exited, url } = await startUi(copy.root, ["dev", "--port", String(port)]);
    try {
      // Opening on the environment's Flux objects: the UI's resource list in its Flux namespace.
      assert.equal(url, `http://127.0.0.1:${port}/resources?namespace=flux-system`);
      assert.deepEqual(await get(url), { status: 200, body: uiBody });
      assert.deepEqual(await get(url), { status: 200, body: uiBody }, "a second connection gets its own forward");
      // The pods it looked among: Flux Operator's, in the environment's Flux namespace.
      assert.deepEqual(
        cluster.state.podLists.map((list) => [list.pathname, list.searchParams.get("labelSelector")]),
        [["/api/v1/namespaces/flux-system/pods", operatorSelector]],
      );
      assert.equal(operatorSelector, "app.kubernetes.io/name=flux-operator");
      const forward = {
        pod: "flux-operator-5c8d-abc",
        namespace: "flux-system",
        ports: "9080",
        protocol: forwardProtocol,
        authorization: "Bearer test",
      };
      assert.deepEqual(cluster.state.forwards, [forward, forward]);
      assert.equal(io.out(), `${url}\n`);
      assert.equal(
        io.err(),
        `gitops: the Flux web UI of dev, from flux-system/flux-operator-5c8d-abc port 9080, at ${url} (Ctrl-C stops)\n`,
      );
    } finally {
      signals.emit("SIGINT");
      assert.equal(await exited, 0);
    }
  });

  it("answers only requests that name this machine: a page whose site name was re-pointed at 127.0.0.1 is refused (421)", async () => {
    const port = await freePort();
    const { io, signals, exited } = await startUi(copy.root, ["dev", "--port", String(port)]);
    /** One request with the given Host header on its own connection: the whole answer. */
    const ask = async (hostHeader: string) => {
      const socket = await connect("127.0.0.1", port);
      const answer = new Promise<string>((resolve) => {
        let text = "";
        socket.on("data", (chunk: Buffer) => (text += chunk.toString()));
        socket.on("close", () => resolve(text));
      });
      socket.write(`GET /api/v1/resources HTTP/1.1\r\nHost: ${hostHeader}\r\nConnection: close\r\n\r\n`);
      return answer;
    };
    try {
      // DNS rebinding: the browser sends the attacker's name, which now resolves to 127.0.0.1.
      const refused = await ask(`rebind.example.com:${port}`);
      assert.match(refused, /^HTTP\/1\.1 421 Misdirected Request\r\n/);
      assert.deepEqual(cluster.state.forwards, [], "nothing reached the pod");
      assert.match(
        io.err(),
        new RegExp(
          `gitops: refused a request for host rebind\\.example\\.com:${port}: the UI answers only as 127\\.0\\.0\\.1:${port} or localhost:${port}\\n`,
        ),
      );
      // This machine's own names pass, with or without the port.
      for (const name of [`127.0.0.1:${port}`, `localhost:${port}`, "LOCALHOST"]) {
        assert.match(await ask(name), /^HTTP\/1\.1 200 OK\r\n/, name);
      }
      assert.equal(cluster.state.forwards.length, 3);
    } finally {
      signals.emit("SIGINT");
      assert.equal(await exited, 0);
    }
  });

  it(
    "listens on 127.0.0.1 only: another loopback address of this machine is refused",
    { skip: process.platform !== "linux" && "127.0.0.2 is loopback on Linux only" },
    async () => {
      const port = await freePort();
      const { signals, exited } = await startUi(copy.root, ["dev", "--port", String(port)]);
      try {
        (await connect("127.0.0.1", port)).destroy();
        // Linux routes all of 127/8 to lo: a listener on 0.0.0.0 (or ::) would take this one too.
        await assert.rejects(connect("127.0.0.2", port), { code: "ECONNREFUSED" });
      } finally {
        signals.emit("SIGINT");
        assert.equal(await exited, 0);
      }
    },
  );

  it("at SIGTERM (or a second Ctrl-C) closes the listener and the open connections, says goodbye in one line, and exits 0", async () => {
    const port = await freePort();
    const { io, signals, exited, url } = await startUi(copy.root, ["dev", "--port", String(port)]);
    // A browser's keep-alive connection, forwarded and answered once, still open.
    const browser = await connect("127.0.0.1", port);
    const closed = new Promise<void>((resolve) => browser.on("close", () => resolve()));
    const answered = new Promise<string>((resolve) => browser.once("data", (chunk: Buffer) => resolve(chunk.toString())));
    browser.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    assert.match(await answered, /^HTTP\/1\.1 200 OK\r\n/);
    signals.emit("SIGTERM");
    signals.emit("SIGINT"); // npm passes a terminal's Ctrl-C on: the same stop, heard twice
    assert.equal(await exited, 0);
    await closed;
    await assert.rejects(connect("127.0.0.1", port), { code: "ECONNREFUSED" });
    assert.equal(io.err().split("\n").slice(-2).join("\n"), `gitops: stopped forwarding ${new URL(url).origin}/\n`);
    assert.equal(signals.listenerCount("SIGINT") + signals.listenerCount("SIGTERM"), 0);
  });

  it("reports what the pod's side says on the error channel in one line, once, and closes the connection", async () => {
    cluster.state.refuse = true;
    const port = await freePort();
    const { io, signals, exited, url } = await startUi(copy.root, ["dev", "--port", String(port)]);
    try {
      await assert.rejects(get(url), { code: "ECONNRESET" });
      await assert.rejects(get(url), { code: "ECONNRESET" });
      assert.equal(
        io.err().split("\n")[1],
        "gitops: flux-system/flux-operator-5c8d-abc port 9080: error forwarding port 9080 to pod flux-operator-5c8d-abc, uid : failed to connect to localhost:9080: connection refused",
      );
      assert.equal(io.err().split("\n").length, 3, io.err());
    } finally {
      signals.emit("SIGINT");
      assert.equal(await exited, 0);
    }
  });

  it("exits 1 when no Flux Operator pod is Running and Ready, saying what to do", async () => {
    cluster.state.pods = [sourceController];
    const io = captureIo({ root: copy.root });
    assert.equal(await main(["dev"], io, { signals: new EventEmitter() }), 1);
    assert.equal(io.err(), "gitops: no running Flux Operator pod in flux-system of gitops-dev: run npm run up -- dev first\n");
    assert.equal(io.out(), "");

    cluster.state.pods = [operatorPod("flux-operator-5c8d-old", "Pending", false), operatorPod("flux-operator-5c8d-new", "Running", false)];
    const starting = captureIo({ root: copy.root });
    assert.equal(await main(["dev"], starting, { signals: new EventEmitter() }), 1);
    assert.equal(
      starting.err(),
      "gitops: no running Flux Operator pod in flux-system of gitops-dev (flux-operator-5c8d-old Pending, not ready; flux-operator-5c8d-new Running, not ready): wait until it is ready (kubectl get pods -n flux-system), or run npm run up -- dev\n",
    );
    assert.deepEqual(cluster.state.forwards, []);
  });

  it("exits 1 naming the port and --port when the port is taken", async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const { port } = taken.address() as net.AddressInfo;
    try {
      const io = captureIo({ root: copy.root });
      assert.equal(await main(["dev", "--port", String(port)], io, { signals: new EventEmitter() }), 1);
      assert.equal(
        io.err(),
        `gitops: port ${port} on 127.0.0.1 is already in use: choose another with --port (npm run ui -- dev --port ${port + 1})\n`,
      );
      assert.equal(io.out(), "");
    } finally {
      taken.close();
    }
  });

  it("as its own process (npm run ui): forwards, and a real SIGINT ends it with exit 0", async () => {
    const runnable = projectCopy({ ".kube/gitops-dev.yaml": kubeconfig(cluster.server) }, { runnable: true });
    try {
      const port = await freePort();
      const child = spawn(process.execPath, [...asNpmRuns("tools/ui.ts", runnable.root), "dev", "--port", String(port)], {
        cwd: runnable.root,
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      const exit = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on("data", (chunk: Buffer) => {
          stdout += chunk.toString();
          if (stdout.endsWith("\n")) resolve(stdout.trim());
        });
        void exit.then((code) => reject(new Error(`ui exited ${code} before printing its URL: ${stderr}`)));
      });
      assert.equal(url, `http://127.0.0.1:${port}/resources?namespace=flux-system`);
      assert.deepEqual(await get(url), { status: 200, body: uiBody });
      child.kill("SIGINT");
      assert.equal(await exit, 0, stderr);
      assert.match(stderr, new RegExp(`\\ngitops: stopped forwarding http://127\\.0\\.0\\.1:${port}/\\n$`));
    } finally {
      runnable.remove();
    }
  });

  it("looks in the environment's own Flux namespace (namespaces.flux) of its own cluster", async () => {
    const qa = projectCopy({
      "Pulumi.qa.yaml": "config:\n  gitops:cluster:\n    name: gitops-qa\n  gitops:namespaces:\n    flux: flux\n",
      ".kube/gitops-qa.yaml": kubeconfig(cluster.server),
    });
    try {
      const port = await freePort();
      const { signals, exited, url } = await startUi(qa.root, ["qa", "--port", String(port)]);
      assert.deepEqual(await get(url), { status: 200, body: uiBody });
      signals.emit("SIGINT");
      assert.equal(await exited, 0);
      assert.deepEqual(
        cluster.state.podLists.map((list) => list.pathname),
        ["/api/v1/namespaces/flux/pods"],
      );
      assert.deepEqual(
        cluster.state.forwards.map((forward) => forward.namespace),
        ["flux"],
      );
    } finally {
      qa.remove();
    }
  });
});
