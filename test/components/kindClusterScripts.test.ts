// The scripts the KindCluster component registers, run for real by bash against a stub `kind`
// that fails as kind does (and a stub kubectl). What the component registers:
// kindCluster.test.ts.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import { builtKindCluster } from "../support/kindCluster.ts";
import { runProcess } from "../helpers.ts";
import { stubFolder } from "../support/stubFolder.ts";

// A suite of its own: the tests of every file run in one process, and a top-level hook would run for all of them.
describe("the KindCluster component's scripts", () => {
  const { script, interpreter } = builtKindCluster();

  const kubeconfig = "apiVersion: v1\nkind: Config\ncurrent-context: kind-gitops-dev";
  // Behaves like kind for the calls the scripts make, on the clusters listed in $STUB_DIR/clusters
  // (first $STUB_CLUSTERS): `get clusters` lists them, `create` adds one (its nodes exist as
  // soon as kind starts), reads the config from stdin and writes the kubeconfig file; `delete`
  // removes one, and of a missing cluster succeeds. A command named in $STUB_KIND_FAILS
  // ("create", "delete") fails as kind does when Docker fails: a message on stderr, exit 1.
  // With $STUB_CREATE_RUNS, create touches that file, then waits until a line comes on the pipe
  // $STUB_CREATE_MAY_FINISH. Every call is logged to $STUB_LOG.
  const stubKind = `#!/usr/bin/env bash
echo "kind $*" >> "$STUB_LOG"
clusters="$STUB_DIR/clusters"
[ -f "$clusters" ] || for c in $STUB_CLUSTERS; do echo "$c"; done > "$clusters"
case " \${STUB_KIND_FAILS:-} " in *" $1 "*)
  echo "ERROR: failed to $1 cluster: command \\"docker ps -a --filter label=io.x-k8s.kind.cluster\\" failed with error: exit status 1" >&2
  exit 1 ;;
esac
case "$1 $2" in
  "get clusters") while read -r c; do echo "$c"; sleep 0.05; done < "$clusters" ;;
  "get kubeconfig") printf '%s\\n' "$STUB_KUBECONFIG" ;;
  "create cluster")
    echo "Creating cluster ..." >&2
    echo "$4" >> "$clusters"
    if [ -n "\${STUB_CREATE_RUNS:-}" ]; then : > "$STUB_CREATE_RUNS"; read -r _ < "$STUB_CREATE_MAY_FINISH"; fi
    cat > "$STUB_DIR/stdin"
    while [ $# -gt 0 ]; do [ "$1" = "--kubeconfig" ] && printf '%s' "$STUB_KUBECONFIG" > "$2"; shift; done ;;
  "delete cluster")
    echo "Deleting cluster ..." >&2
    grep -vxF -- "$4" "$clusters" > "$clusters.new" || true; mv "$clusters.new" "$clusters" ;;
esac
`;

  // kubectl wait: met, or (with $STUB_KUBECTL_TIMES_OUT) the timeout kubectl reports, exit 1.
  const stubKubectl = `#!/usr/bin/env bash
echo "kubectl $*" >> "$STUB_LOG"
if [ -n "\${STUB_KUBECTL_TIMES_OUT:-}" ]; then
  echo "error: timed out waiting for the condition on nodes/gitops-dev-control-plane" >&2
  exit 1
fi
echo "node/gitops-dev-control-plane condition met" >&2
`;

  let dir: string;
  beforeEach(() => {
    dir = stubFolder("kind-stub-", { kind: stubKind, kubectl: stubKubectl });
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** What the KindCluster component sets for the scripts, and what the stubs read. */
  function scriptEnvironment(clusters: string[] = [], extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    return {
      PATH: `${path.join(dir, "bin")}:/usr/bin:/bin`,
      KIND_CLUSTER_NAME: "gitops-dev",
      KIND_KUBECONFIG: ".kube/gitops-dev.yaml",
      KIND_WAIT: "5m",
      PULUMI_STACK_NAME: "dev",
      STUB_LOG: path.join(dir, "calls"),
      STUB_DIR: dir,
      STUB_CLUSTERS: clusters.join(" "),
      STUB_KUBECONFIG: kubeconfig,
      ...extra,
    };
  }

  async function runScript(text: string, options: { clusters?: string[]; stdin?: string; env?: Record<string, string> } = {}) {
    const [shell, ...flags] = interpreter();
    const result = await runProcess(shell!, [...flags, text], {
      cwd: dir,
      input: options.stdin ?? "",
      env: scriptEnvironment(options.clusters, options.env),
    });
    const calls = fs.existsSync(path.join(dir, "calls")) ? fs.readFileSync(path.join(dir, "calls"), "utf8").trim().split("\n") : [];
    return { ...result, calls };
  }

  describe("kind create", () => {
    it("creates the cluster from the config on stdin and prints only the kubeconfig", async () => {
      const result = await runScript(script("create"), { stdin: "kind: Cluster\n", clusters: ["gitops-dev2", "other"] });
      assert.equal(result.status, 0, result.stderr);
      assert.deepEqual(result.calls, [
        "kind get clusters",
        "kind create cluster --name gitops-dev --config - --kubeconfig .kube/gitops-dev.yaml --wait 5m",
        // kind --wait does not fail on a timeout; kubectl wait does.
        "kubectl --kubeconfig .kube/gitops-dev.yaml wait --for=condition=Ready nodes --all --timeout=5m",
        "kind get kubeconfig --name gitops-dev",
      ]);
      assert.equal(result.stdout, `${kubeconfig}\n`);
      assert.match(result.stderr, /Creating cluster/);
      assert.equal(fs.readFileSync(path.join(dir, "stdin"), "utf8"), "kind: Cluster\n");
      assert.equal(fs.readFileSync(path.join(dir, ".kube/gitops-dev.yaml"), "utf8"), kubeconfig);
    });

    it("refuses a cluster of that name it did not create, naming it and the two ways out", async () => {
      const result = await runScript(script("create"), { clusters: ["gitops-dev"] });
      assert.equal(result.status, 1);
      assert.equal(result.stdout, "");
      assert.deepEqual(result.calls, ["kind get clusters"]);
      assert.equal(
        result.stderr.trim(),
        'kind cluster "gitops-dev" already exists, but stack "dev" did not create it. ' +
          "Either delete it: kind delete cluster --name gitops-dev -- or give this stack another cluster name: " +
          "pulumi config set --stack dev --path cluster.name <new-name>",
      );
    });
  });

  describe("kind create that fails part-way", () => {
    it("deletes the cluster it just made when the nodes never get Ready, and fails", async () => {
      const result = await runScript(script("create"), { stdin: "kind: Cluster\n", env: { STUB_KUBECTL_TIMES_OUT: "1" } });
      assert.equal(result.status, 1);
      assert.equal(result.stdout, "", "no kubeconfig on stdout");
      assert.deepEqual(result.calls, [
        "kind get clusters",
        "kind create cluster --name gitops-dev --config - --kubeconfig .kube/gitops-dev.yaml --wait 5m",
        "kubectl --kubeconfig .kube/gitops-dev.yaml wait --for=condition=Ready nodes --all --timeout=5m",
        "kind delete cluster --name gitops-dev --kubeconfig .kube/gitops-dev.yaml",
      ]);
      assert.match(result.stderr, /creating kind cluster "gitops-dev" failed \(exit 1\): deleting it, so the next 'up' can start over/);
      assert.equal(fs.existsSync(path.join(dir, ".kube/gitops-dev.yaml")), false, "its kubeconfig file is gone too");
    });

    it("cleans up after a failed kind create too (kind leaves nodes behind when it is killed)", async () => {
      const result = await runScript(script("create"), { env: { STUB_KIND_FAILS: "create" } });
      assert.equal(result.status, 1);
      assert.deepEqual(result.calls.slice(1), [
        "kind create cluster --name gitops-dev --config - --kubeconfig .kube/gitops-dev.yaml --wait 5m",
        "kind delete cluster --name gitops-dev --kubeconfig .kube/gitops-dev.yaml",
      ]);
    });

    it("stops before anything when kind cannot list the clusters (Docker down): it never touches a cluster it cannot see", async () => {
      const result = await runScript(script("create"), { env: { STUB_KIND_FAILS: "get" } });
      assert.equal(result.status, 1);
      assert.match(result.stderr, /^kind get clusters failed: is Docker running\?$/m);
      assert.deepEqual(result.calls, ["kind get clusters"]);
    });

    it("never deletes a cluster of that name it did not make", async () => {
      const result = await runScript(script("create"), { clusters: ["gitops-dev"], env: { STUB_KUBECTL_TIMES_OUT: "1" } });
      assert.equal(result.status, 1);
      assert.deepEqual(result.calls, ["kind get clusters"]);
    });

    /**
     * Starts the create script with kind create waiting mid-create, sends `signal` to the script
     * alone once kind runs, then lets kind finish; the script's exit code and when kind ended.
     */
    async function interruptedCreate(signal: "SIGTERM" | "SIGKILL") {
      const [shell, ...flags] = interpreter();
      const running = path.join(dir, "kind-create-runs");
      const finish = path.join(dir, "kind-create-may-finish");
      spawnSync("mkfifo", [finish]);
      const child = spawn(shell!, [...flags, script("create")], {
        cwd: dir,
        env: scriptEnvironment([], { STUB_CREATE_RUNS: running, STUB_CREATE_MAY_FINISH: finish }),
        stdio: ["pipe", "pipe", "pipe"],
      });
      const exited = new Promise<number | null>((resolve) => child.on("exit", (code, killedBy) => resolve(killedBy ? null : code)));
      child.stdin.end("kind: Cluster\n");
      while (!fs.existsSync(running) && child.exitCode === null) await new Promise((resolve) => setTimeout(resolve, 10));
      assert.ok(fs.existsSync(running), "kind create never ran");
      child.kill(signal);
      // bash runs a trap once the command in the foreground (kind) has ended; a SIGKILL ends it at once.
      if (signal === "SIGKILL") await exited;
      fs.writeFileSync(finish, "go\n");
      return exited;
    }

    it("is interrupted cleanly: SIGTERM to the script while kind runs still deletes the cluster", async () => {
      assert.equal(await interruptedCreate("SIGTERM"), 143);
      const calls = fs.readFileSync(path.join(dir, "calls"), "utf8").trim().split("\n");
      assert.equal(calls.at(-1), "kind delete cluster --name gitops-dev --kubeconfig .kube/gitops-dev.yaml");
    });

    it("clears what its own create left when Pulumi's cancel killed it (SIGKILL: no trap), then creates the cluster again", async () => {
      assert.equal(await interruptedCreate("SIGKILL"), null);
      // Left: the cluster kind went on making, and the mark naming the stack.
      while (!fs.existsSync(path.join(dir, ".kube/gitops-dev.yaml"))) await new Promise((resolve) => setTimeout(resolve, 10));
      assert.equal(fs.readFileSync(path.join(dir, "clusters"), "utf8"), "gitops-dev\n");
      assert.equal(fs.readFileSync(path.join(dir, ".kube/gitops-dev.stack"), "utf8"), "dev\n");
      fs.rmSync(path.join(dir, "calls"));
      const next = await runScript(script("create"), { stdin: "kind: Cluster\n" });
      assert.equal(next.status, 0, next.stderr);
      assert.deepEqual(next.calls, [
        "kind get clusters",
        "kind delete cluster --name gitops-dev --kubeconfig .kube/gitops-dev.yaml",
        "kind create cluster --name gitops-dev --config - --kubeconfig .kube/gitops-dev.yaml --wait 5m",
        "kubectl --kubeconfig .kube/gitops-dev.yaml wait --for=condition=Ready nodes --all --timeout=5m",
        "kind get kubeconfig --name gitops-dev",
      ]);
      assert.match(
        next.stderr,
        /^kind cluster "gitops-dev" was left by an interrupted 'up' of stack "dev": deleting it, then creating it again$/m,
      );
      assert.equal(next.stdout, `${kubeconfig}\n`);
    });

    it("refuses a cluster of that name whose mark names another stack", async () => {
      fs.mkdirSync(path.join(dir, ".kube"));
      fs.writeFileSync(path.join(dir, ".kube/gitops-dev.stack"), "prod\n");
      const result = await runScript(script("create"), { clusters: ["gitops-dev"] });
      assert.equal(result.status, 1);
      assert.deepEqual(result.calls, ["kind get clusters"]);
      assert.match(result.stderr, /already exists, but stack "dev" did not create it/);
    });
  });

  describe("finding the cluster among several", () => {
    it("still finds it when it is listed first and kind goes on writing (no SIGPIPE under pipefail)", async () => {
      const created = await runScript(script("create"), { clusters: ["gitops-dev", "gitops-prod", "other"] });
      assert.equal(created.status, 1, "create must refuse: the cluster exists");
      assert.match(created.stderr, /already exists/);
      const updated = await runScript(script("update"), { clusters: ["gitops-dev", "gitops-prod", "other"] });
      assert.equal(updated.status, 0, updated.stderr);
    });
  });

  describe("kind update", () => {
    it("creates nothing and prints the kubeconfig again", async () => {
      const result = await runScript(script("update"), { clusters: ["gitops-dev"] });
      assert.equal(result.status, 0, result.stderr);
      assert.deepEqual(result.calls, ["kind get clusters", "kind get kubeconfig --name gitops-dev"]);
      assert.equal(result.stdout, `${kubeconfig}\n`);
    });

    it("says how to recover when the cluster was deleted outside Pulumi", async () => {
      const result = await runScript(script("update"), { clusters: [] });
      assert.equal(result.status, 1);
      assert.equal(
        result.stderr.trim(),
        'kind cluster "gitops-dev" is gone (deleted outside Pulumi). Start over: npm run destroy -- dev ' +
          "(with PULUMI_K8S_DELETE_UNREACHABLE=true if Pulumi reports the cluster unreachable), then npm run up -- dev",
      );
    });
  });

  describe("kind delete", () => {
    it("deletes the cluster with the same kubeconfig file and removes the file and the stack's mark", async () => {
      fs.mkdirSync(path.join(dir, ".kube"));
      fs.writeFileSync(path.join(dir, ".kube/gitops-dev.yaml"), kubeconfig);
      fs.writeFileSync(path.join(dir, ".kube/gitops-dev.stack"), "dev\n");
      const result = await runScript(script("delete"), { clusters: ["gitops-dev"] });
      assert.equal(result.status, 0, result.stderr);
      assert.deepEqual(result.calls, ["kind delete cluster --name gitops-dev --kubeconfig .kube/gitops-dev.yaml"]);
      assert.deepEqual(fs.readdirSync(path.join(dir, ".kube")), []);
    });

    it("succeeds when the cluster and its kubeconfig are already gone", async () => {
      const result = await runScript(script("delete"), { clusters: [] });
      assert.equal(result.status, 0, result.stderr);
      assert.equal(result.stdout, "");
    });

    it("fails when kind fails, keeping the kubeconfig: Pulumi must not forget a running cluster", async () => {
      fs.mkdirSync(path.join(dir, ".kube"));
      fs.writeFileSync(path.join(dir, ".kube/gitops-dev.yaml"), kubeconfig);
      const result = await runScript(script("delete"), { clusters: ["gitops-dev"], env: { STUB_KIND_FAILS: "delete" } });
      assert.equal(result.status, 1);
      assert.match(result.stderr, /ERROR: failed to delete cluster/);
      assert.equal(fs.existsSync(path.join(dir, ".kube/gitops-dev.yaml")), true);
    });
  });
});
