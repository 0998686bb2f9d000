// npm run sync -- <env>: fails fast without a cluster; with one (a fake Kubernetes API on
// loopback, in this process), sets reconcile.fluxcd.io/requestedAt and waits for Flux; or hands
// over to a `flux` CLI. Its main runs in-process (test/processes.test.ts runs it as a process).
// How it reads durations and Flux's answers: syncBuildingBlocks.test.ts.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { after, afterEach, before, beforeEach, describe, it } from "node:test";
import type { Machine } from "../tools/machine.ts";
import { main } from "../tools/sync.ts";
import { captureIo, fixtures, projectCopy } from "./helpers.ts";
import { fakeMachine } from "./support/machine.ts";

const usage = "usage: npm run sync -- <env> [--timeout DURATION]   (environments: dev, prod)";
const gitConfig = "  gitops:git:\n    url: ssh://git@github.com/acme/gitops-demo.git\n";

/** A project copy whose dev stack syncs a repository; the kubeconfig, when given, points at `server`. */
function projectWithRepository(server?: string) {
  const copy = projectCopy({
    "Pulumi.dev.yaml": fs.readFileSync(path.join(import.meta.dirname, "..", "Pulumi.dev.yaml"), "utf8") + gitConfig,
  });
  if (server) {
    fs.mkdirSync(path.join(copy.root, ".kube"));
    fs.writeFileSync(
      path.join(copy.root, ".kube", "gitops-dev.yaml"),
      `apiVersion: v1
kind: Config
clusters: [{name: kind-gitops-dev, cluster: {server: "${server}", insecure-skip-tls-verify: true}}]
users: [{name: kind-gitops-dev, user: {token: test}}]
contexts: [{name: kind-gitops-dev, context: {cluster: kind-gitops-dev, user: kind-gitops-dev}}]
current-context: kind-gitops-dev
`,
    );
  }
  return copy;
}

/** A machine without a flux CLI (this one has none; a developer's might): sync talks to the API itself. */
const withoutFlux: Machine = fakeMachine(() => Promise.resolve({ found: false, exitCode: null, stdout: "" }));
/** PATH with node and the system's tools, but no flux CLI. */
const pathWithoutFlux = path.dirname(process.execPath) + ":/usr/bin:/bin";

describe("sync fails fast with a one-line reason", () => {
  it("exits 1 saying the cluster is not up when the stack has no kubeconfig", async () => {
    const copy = projectWithRepository();
    try {
      const io = captureIo({ root: copy.root });
      assert.equal(await main(["dev"], io, { machine: withoutFlux, pollIntervalMs: 20 }), 1);
      assert.equal(io.err(), "gitops: the dev cluster is not up: no kubeconfig at .kube/gitops-dev.yaml (run npm run up -- dev)\n");
      assert.equal(io.out(), "");
    } finally {
      copy.remove();
    }
  });

  it("exits 1 naming the server and the refused connection when the cluster's API server does not answer", async () => {
    // A port that was just free: nothing listens there (a deleted kind cluster's API port).
    const probe = http.createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const copy = projectWithRepository(`http://127.0.0.1:${port}`);
    try {
      const io = captureIo({ root: copy.root });
      assert.equal(await main(["dev"], io, { machine: withoutFlux, pollIntervalMs: 20 }), 1);
      assert.equal(
        io.err(),
        `gitops: cannot reach the dev cluster at http://127.0.0.1:${port} (ECONNREFUSED): is Docker running and the cluster listed by \`kind get clusters\`?\n`,
      );
    } finally {
      copy.remove();
    }
  });

  it("exits 2 naming the environments when asked for one that does not exist", async () => {
    const io = captureIo();
    assert.equal(await main(["staging"], io, { machine: withoutFlux, pollIntervalMs: 20 }), 2);
    assert.equal(io.err(), 'gitops: no environment "staging": Pulumi.staging.yaml does not exist (environments: dev, prod)\n');
  });

  it("exits 2 naming --timeout and the durations it takes when the timeout is not a duration", async () => {
    const io = captureIo();
    assert.equal(await main(["dev", "--timeout", "soon"], io, { machine: withoutFlux, pollIntervalMs: 20 }), 2);
    assert.equal(io.err(), `gitops: --timeout "soon": must be a duration such as 90s, 3m or 1m30s\n${usage}\n`);
  });

  it("exits 2 with its usage when no environment is named", async () => {
    const io = captureIo();
    assert.equal(await main([], io, { machine: withoutFlux, pollIntervalMs: 20 }), 2);
    assert.equal(io.err(), `gitops: which environment?\n${usage}\n`);
  });
});

describe("sync --help", () => {
  it("prints its usage on stdout and exits 0", async () => {
    const io = captureIo();
    assert.equal(await main(["--help"], io, { machine: withoutFlux, pollIntervalMs: 20 }), 0);
    assert.ok(io.out().startsWith(`${usage}\n\nMakes Flux`), io.out());
    assert.equal(io.err(), "");
  });
});

describe("sync against a cluster (a fake Kubernetes API on loopback)", () => {
  type Stored = { metadata: { annotations?: Record<string, string> }; status?: Record<string, unknown> };
  const objects = new Map<string, Stored>();
  const requests: { method: string; url: string; contentType?: string }[] = [];
  /** How Flux answers: done on sync's second look; failed on its first; never (stuck); or its objects do not exist. */
  let outcome: "ready" | "failing" | "stuck" | "absent" = "ready";
  let server: http.Server;
  let url: string;
  let copy: ReturnType<typeof projectWithRepository>;

  before(async () => {
    server = http.createServer((req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => (body += chunk.toString()));
      req.on("end", () => {
        requests.push({ method: req.method!, url: req.url!, contentType: req.headers["content-type"] });
        if (outcome === "absent") {
          res.writeHead(404, { "content-type": "application/json" });
          res.end(JSON.stringify({ apiVersion: "v1", kind: "Status", status: "Failure", reason: "NotFound", code: 404 }));
          return;
        }
        const key = req.url!.split("?")[0]!;
        const stored = objects.get(key) ?? { metadata: {} };
        if (req.method === "PATCH") {
          const patch = JSON.parse(body) as Stored;
          stored.metadata.annotations = { ...stored.metadata.annotations, ...patch.metadata.annotations };
          stored.status = { conditions: [{ type: "Ready", status: "True" }] }; // the state before the request
        } else if (req.method === "GET" && outcome !== "stuck") {
          // Flux handles the request on the second look (sync says "waiting" first); a failure on the first.
          // The Kustomization first answers Ready at the commit it applied before, then at the one just fetched.
          const polls = Number(stored.metadata.annotations?.polls ?? 0) + 1;
          stored.metadata.annotations = { ...stored.metadata.annotations, polls: String(polls) };
          if (polls >= (outcome === "ready" ? 2 : 1)) {
            const requestedAt = stored.metadata.annotations["reconcile.fluxcd.io/requestedAt"];
            const revision = key.includes("/gitrepositories/")
              ? { artifact: { revision: "main@sha1:0123abc" } }
              : { lastAppliedRevision: polls === 2 ? "main@sha1:fedc987" : "main@sha1:0123abc" };
            stored.status =
              outcome === "ready"
                ? { lastHandledReconcileAt: requestedAt, conditions: [{ type: "Ready", status: "True" }], ...revision }
                : {
                    lastHandledReconcileAt: requestedAt,
                    conditions: [{ type: "Ready", status: "False", reason: "BuildFailed", message: "kustomization.yaml not found" }],
                  };
          }
        }
        objects.set(key, stored);
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ apiVersion: "v1", kind: "Unknown", ...stored }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    copy = projectWithRepository(url);
  });
  after(() => {
    server.close();
    copy.remove();
  });
  beforeEach(() => {
    objects.clear();
    requests.length = 0;
  });

  it("requests a reconcile of the GitRepository, then of the Kustomization, and waits until both are done at the fetched revision", async () => {
    outcome = "ready";
    const io = captureIo({ root: copy.root });
    assert.equal(await main(["dev"], io, { machine: withoutFlux, pollIntervalMs: 20 }), 0, io.err());
    const patches = requests.filter((request) => request.method === "PATCH");
    assert.deepEqual(
      patches.map((request) => request.url.split("?")[0]),
      [
        "/apis/source.toolkit.fluxcd.io/v1/namespaces/flux-system/gitrepositories/flux-system",
        "/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/flux-system/kustomizations/flux-system",
      ],
    );
    assert.ok(patches.every((request) => request.contentType?.startsWith("application/merge-patch+json")));
    // The Kustomization is asked only after the source has fetched: it must build from that commit.
    const order = requests.map((request) => `${request.method} ${request.url.split("?")[0]!.split("/")[6]}`);
    assert.ok(order.indexOf("PATCH kustomizations") > order.lastIndexOf("GET gitrepositories"), order.join(", "));
    // Every line of progress, in order; the timestamps and elapsed seconds vary.
    const lines = io
      .err()
      .replace(/requestedAt=\S+\)/g, "requestedAt=<time>)")
      .replace(/\[\d+s\]/g, "[<n>s]");
    assert.equal(
      lines,
      [
        "gitops: asked Flux to reconcile GitRepository flux-system now (reconcile.fluxcd.io/requestedAt=<time>)",
        "gitops: [<n>s] GitRepository waiting",
        "gitops: [<n>s] GitRepository ready at main@sha1:0123abc",
        "gitops: asked Flux to reconcile Kustomization flux-system now (reconcile.fluxcd.io/requestedAt=<time>)",
        "gitops: [<n>s] Kustomization waiting",
        "gitops: [<n>s] Kustomization applying main@sha1:0123abc",
        "gitops: [<n>s] Kustomization ready at main@sha1:0123abc",
        "gitops: dev is in sync at main@sha1:0123abc",
        "",
      ].join("\n"),
    );
    assert.match(io.err(), /requestedAt=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\)/);
    assert.equal(io.out(), "");
  });

  it("exits 1 with Flux's own reason when the sync fails", async () => {
    outcome = "failing";
    const io = captureIo({ root: copy.root });
    assert.equal(await main(["dev"], io, { machine: withoutFlux, pollIntervalMs: 20 }), 1);
    assert.match(io.err(), /\ngitops: GitRepository flux-system failed: BuildFailed kustomization.yaml not found\n$/);
    assert.equal(
      requests.filter((request) => request.url.includes("/kustomizations/")).length,
      0,
      "the Kustomization is not asked after its source failed",
    );
  });

  it("exits 1 telling to run up when Flux's sync objects do not exist on the cluster", async () => {
    outcome = "absent";
    const io = captureIo({ root: copy.root });
    assert.equal(await main(["dev"], io, { machine: withoutFlux, pollIntervalMs: 20 }), 1);
    assert.equal(io.err(), "gitops: Flux's flux-system sync objects do not exist on the dev cluster: run npm run up -- dev\n");
  });

  it("gives up after --timeout, saying where Flux stood", async () => {
    outcome = "stuck";
    const io = captureIo({ root: copy.root });
    assert.equal(await main(["dev", "--timeout", "1s"], io, { machine: withoutFlux, pollIntervalMs: 20 }), 1);
    assert.match(io.err(), /\ngitops: Flux did not finish within 1s \(GitRepository waiting\)\n$/);
    assert.equal(
      requests.filter((request) => request.url.includes("/kustomizations/")).length,
      0,
      "the Kustomization is not asked before its source is done",
    );
  });
});

describe("sync with the flux CLI installed", () => {
  let bin: string;
  let copy: ReturnType<typeof projectWithRepository>;
  beforeEach(() => {
    // A stub flux on io.env's PATH: the machine sync probes with (its default, built from io.env) finds it.
    bin = fs.mkdtempSync(path.join(os.tmpdir(), "flux-stub-"));
    fs.writeFileSync(
      path.join(bin, "flux"),
      `#!/usr/bin/env bash\necho "flux $*" >> "${bin}/calls"\necho "flux says: reconciled"\necho "flux notes" >&2\nexit "\${FLUX_STUB_EXIT:-0}"\n`,
      { mode: 0o755 },
    );
    // No API server answers there: sync must not talk to it.
    copy = projectWithRepository("http://127.0.0.1:1");
  });
  afterEach(() => {
    copy.remove();
    fs.rmSync(bin, { recursive: true, force: true });
  });
  const calls = () => fs.readFileSync(path.join(bin, "calls"), "utf8").trim().split("\n");

  it("runs flux reconcile with the stack's kubeconfig and timeout, and passes on what flux prints", async () => {
    const io = captureIo({ root: copy.root, env: { PATH: `${bin}:${pathWithoutFlux}` } });
    assert.equal(await main(["dev", "--timeout", "90s"], io, { pollIntervalMs: 20 }), 0, io.err());
    const kubeconfig = path.join(copy.root, ".kube/gitops-dev.yaml");
    const reconcile = `reconcile kustomization flux-system --with-source --namespace flux-system --kubeconfig ${kubeconfig} --timeout 90s`;
    assert.deepEqual(calls(), ["flux --version", `flux ${reconcile}`]);
    assert.equal(io.out(), "flux says: reconciled\n");
    assert.equal(io.err(), `gitops: flux ${reconcile}\nflux notes\n`);
  });

  it("passes an existing cluster's kubeconfig file and context to flux", async () => {
    const byo = projectCopy({
      "Pulumi.byo.yaml":
        "config:\n  gitops:cluster:\n    kind: existing\n    kubeconfigPath: ./kube/team.yaml\n    context: team-cluster\n" + gitConfig,
      "kube/team.yaml": fs.readFileSync(path.join(fixtures, "kubeconfig-existing.yaml"), "utf8"),
    });
    try {
      const io = captureIo({ root: byo.root, env: { PATH: `${bin}:${pathWithoutFlux}` } });
      assert.equal(await main(["byo"], io, { pollIntervalMs: 20 }), 0, io.err());
      const kubeconfig = path.join(byo.root, "kube/team.yaml");
      assert.deepEqual(calls(), [
        "flux --version",
        `flux reconcile kustomization flux-system --with-source --namespace flux-system --kubeconfig ${kubeconfig} --context team-cluster --timeout 3m`,
      ]);
    } finally {
      byo.remove();
    }
  });

  it("exits with flux's own exit code when flux reconcile fails", async () => {
    const io = captureIo({ root: copy.root, env: { PATH: `${bin}:${pathWithoutFlux}`, FLUX_STUB_EXIT: "3" } });
    assert.equal(await main(["dev"], io, { pollIntervalMs: 20 }), 3);
    assert.equal(calls().length, 2);
  });
});
