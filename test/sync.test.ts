// npm run sync -- <env>: fails fast without a cluster; with one (a fake Kubernetes API on
// loopback), sets reconcile.fluxcd.io/requestedAt and waits for Flux; or hands over to `flux`.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { parseDuration, reconcileState } from "../infra/cli/sync";
import { projectCopy, runCli } from "./helpers";

const gitConfig = "  gitops:git:\n    url: ssh://git@github.com/acme/gitops-demo.git\n";
/** A project copy whose dev stack syncs a repository; the kubeconfig, when given, points at `server`. */
function projectWithRepository(server?: string) {
  const copy = projectCopy({ "Pulumi.dev.yaml": fs.readFileSync(path.join(__dirname, "..", "Pulumi.dev.yaml"), "utf8") + gitConfig });
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
/** PATH without a flux CLI (this machine has none; a developer's might). */
const withoutFlux = { PATH: path.dirname(process.execPath) + ":/usr/bin:/bin" };

/** Runs the sync CLI without blocking the event loop (the fake API server lives in this process). */
function runSync(cwd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", path.join(cwd, "infra/cli/sync.ts"), ...args], { cwd, env: { ...process.env, ...env } });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("exit", (status) => resolve({ status, stderr }));
  });
}

describe("sync fails fast with a one-line reason", () => {
  it("when the stack has no repository configured", () => {
    const result = runCli("infra/cli/sync.ts", ["dev"], { env: withoutFlux });
    assert.equal(result.status, 1);
    assert.equal(result.stderr, "gitops: git sync is off for dev: no repository configured (set git.url in Pulumi.dev.yaml)\n");
  });

  it("when the stack has no cluster (no state, no kubeconfig)", () => {
    const copy = projectWithRepository();
    try {
      const started = Date.now();
      const result = runCli("infra/cli/sync.ts", ["dev"], { cwd: copy.root, env: withoutFlux });
      assert.equal(result.status, 1);
      assert.equal(result.stderr, "gitops: the dev cluster is not up: no kubeconfig at .kube/gitops-dev.yaml (run npm run up -- dev)\n");
      assert.ok(Date.now() - started < 15_000);
    } finally {
      copy.remove();
    }
  });

  it("when the cluster's API server does not answer", async () => {
    // A port that was just free: nothing listens there (a deleted kind cluster's API port).
    const probe = http.createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const copy = projectWithRepository(`http://127.0.0.1:${port}`);
    try {
      const result = await runSync(copy.root, ["dev"], withoutFlux);
      assert.equal(result.status, 1);
      assert.equal(
        result.stderr,
        `gitops: cannot reach the dev cluster at http://127.0.0.1:${port} (ECONNREFUSED): is Docker running and the cluster listed by \`kind get clusters\`?\n`,
      );
    } finally {
      copy.remove();
    }
  });

  it("for an unknown environment or a bad timeout (usage, exit 2)", () => {
    assert.equal(runCli("infra/cli/sync.ts", ["staging"], { env: withoutFlux }).status, 2);
    assert.equal(runCli("infra/cli/sync.ts", ["dev", "--timeout", "soon"], { env: withoutFlux }).status, 2);
  });
});

describe("sync against a cluster (a fake Kubernetes API on loopback)", () => {
  type Stored = { metadata: { annotations?: Record<string, string> }; status?: Record<string, unknown> };
  const objects = new Map<string, Stored>();
  const requests: { method: string; url: string; contentType?: string }[] = [];
  let outcome: "ready" | "failing" = "ready";
  let server: http.Server;
  let url: string;

  before(async () => {
    server = http.createServer((req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => (body += chunk.toString()));
      req.on("end", () => {
        requests.push({ method: req.method!, url: req.url!, contentType: req.headers["content-type"] });
        const key = req.url!.split("?")[0]!;
        const stored = objects.get(key) ?? { metadata: {} };
        if (req.method === "PATCH") {
          const patch = JSON.parse(body) as Stored;
          stored.metadata.annotations = { ...stored.metadata.annotations, ...patch.metadata.annotations };
          stored.status = { conditions: [{ type: "Ready", status: "True" }] }; // the state before the request
        } else if (req.method === "GET") {
          // Flux handles the request on the second look.
          const polls = Number(stored.metadata.annotations?.polls ?? 0) + 1;
          stored.metadata.annotations = { ...stored.metadata.annotations, polls: String(polls) };
          if (polls >= 2) {
            const requestedAt = stored.metadata.annotations["reconcile.fluxcd.io/requestedAt"];
            const revision = key.includes("/gitrepositories/") ? { artifact: { revision: "main@sha1:0123abc" } } : { lastAppliedRevision: "main@sha1:0123abc" };
            stored.status =
              outcome === "ready"
                ? { lastHandledReconcileAt: requestedAt, conditions: [{ type: "Ready", status: "True" }], ...revision }
                : { lastHandledReconcileAt: requestedAt, conditions: [{ type: "Ready", status: "False", reason: "BuildFailed", message: "kustomization.yaml not found" }] };
          }
        }
        objects.set(key, stored);
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ apiVersion: "v1", kind: "Unknown", ...stored }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => server.close());

  it("requests a reconcile of the GitRepository and Kustomization and waits until both are done", async () => {
    objects.clear();
    requests.length = 0;
    outcome = "ready";
    const copy = projectWithRepository(url);
    try {
      const result = await runSync(copy.root, ["dev"], withoutFlux);
      assert.equal(result.status, 0, result.stderr);
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
      assert.match(result.stderr, /^gitops: asked Flux to reconcile GitRepository flux-system now \(reconcile\.fluxcd\.io\/requestedAt=\S+\)$/m);
      assert.match(result.stderr, /^gitops: asked Flux to reconcile Kustomization flux-system now/m);
      assert.match(result.stderr, /gitops: \[\d+s\] GitRepository waiting\ngitops: \[\d+s\] GitRepository ready at main@sha1:0123abc\n/);
      assert.match(result.stderr, /gitops: \[\d+s\] Kustomization waiting\ngitops: \[\d+s\] Kustomization ready at main@sha1:0123abc\n/);
      assert.match(result.stderr, /gitops: dev is in sync at main@sha1:0123abc\n$/);
    } finally {
      copy.remove();
    }
  });

  it("reports Flux's own reason when the sync fails", async () => {
    objects.clear();
    outcome = "failing";
    const copy = projectWithRepository(url);
    try {
      const result = await runSync(copy.root, ["dev"], withoutFlux);
      assert.equal(result.status, 1);
      assert.match(result.stderr, /gitops: GitRepository flux-system failed: BuildFailed kustomization.yaml not found\n$/);
    } finally {
      copy.remove();
    }
  });
});

describe("sync with the flux CLI installed", () => {
  it("runs flux reconcile with the stack's kubeconfig", () => {
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), "flux-stub-"));
    fs.writeFileSync(path.join(bin, "flux"), `#!/usr/bin/env bash\necho "flux $*" >> "${bin}/calls"\n`, { mode: 0o755 });
    const copy = projectWithRepository("http://127.0.0.1:1");
    try {
      const result = runCli("infra/cli/sync.ts", ["dev", "--timeout", "90s"], { cwd: copy.root, env: { PATH: `${bin}:${withoutFlux.PATH}` } });
      assert.equal(result.status, 0, result.stderr);
      const calls = fs.readFileSync(path.join(bin, "calls"), "utf8").trim().split("\n");
      assert.deepEqual(calls, [
        "flux --version",
        `flux reconcile kustomization flux-system --with-source --namespace flux-system --kubeconfig ${path.join(copy.root, ".kube/gitops-dev.yaml")} --timeout 90s`,
      ]);
    } finally {
      copy.remove();
      fs.rmSync(bin, { recursive: true, force: true });
    }
  });
});

describe("sync's building blocks", () => {
  it("reads durations as the README writes them", () => {
    assert.equal(parseDuration("90s"), 90_000);
    assert.equal(parseDuration("3m"), 180_000);
    assert.equal(parseDuration("1m30s"), 90_000);
    assert.equal(parseDuration("soon"), undefined);
    assert.equal(parseDuration(""), undefined);
  });

  it("counts an object done only once Flux has handled this very request", () => {
    const at = "2026-11-25T01:00:00.000Z";
    const ready = [{ type: "Ready", status: "True" }];
    assert.deepEqual(reconcileState({ lastHandledReconcileAt: "earlier", conditions: ready }, at), { done: false, failed: false, text: "waiting" });
    assert.deepEqual(reconcileState({ lastHandledReconcileAt: at, conditions: [{ type: "Ready", status: "Unknown" }] }, at), {
      done: false,
      failed: false,
      text: "reconciling",
    });
    assert.deepEqual(reconcileState({ lastHandledReconcileAt: at, conditions: ready, lastAppliedRevision: "main@sha1:1" }, at), {
      done: true,
      failed: false,
      text: "ready at main@sha1:1",
      revision: "main@sha1:1",
    });
    // Handled, but still on the previous commit: not done until it applies the source's new one.
    assert.deepEqual(reconcileState({ lastHandledReconcileAt: at, conditions: ready, lastAppliedRevision: "main@sha1:1" }, at, "main@sha1:2"), {
      done: false,
      failed: false,
      text: "applying main@sha1:2",
    });
  });
});
