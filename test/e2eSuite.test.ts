// The end-to-end suite's own failure paths, run for real here: the suite (test/e2e/e2e.ts) and
// the real Automation API, with stub docker, kind and pulumi first on PATH. A failing phase
// leaves a diagnostics bundle and a report; a Ctrl-C reaches Pulumi once and leaves a report
// marked interrupted; the deadline leaves one marked timed out. Cleanup runs every time.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { projectRoot } from "../infra/settings/index.ts";
import { nothingLeft } from "./e2e/afterChecks.ts";
import { fetchesBetween, Report } from "./e2e/report.ts";
import { copyProject, type Run } from "./e2e/throwawayStack.ts";
import { asNpmRuns, runCli } from "./helpers.ts";
import { fakeMachine } from "./support/machine.ts";
import type { Machine } from "../tools/machine.ts";
import { createPulumiStub } from "./support/pulumiStub.ts";

// Docker with a daemon and no containers; kind that has no clusters, deletes and exports logs.
const stubDocker = `#!/usr/bin/env bash
echo "docker $*" >> "$STUB_CALLS"
case "$1" in
  version) echo "client 28.2.2, server 28.2.2" ;;
  info) echo "28.2.2" ;;
  ps) ;;
  logs) echo "Error response from daemon: No such container: $2" >&2; exit 1 ;;
  *) echo "docker stub: $*" >&2; exit 1 ;;
esac
`;
const stubKind = `#!/usr/bin/env bash
echo "kind $*" >> "$STUB_CALLS"
case "$1 $2" in
  "version "*) echo "kind v0.32.0 go1.24.4 linux/amd64" ;;
  "get clusters") ;;
  "delete cluster") echo "Deleting cluster ..." >&2 ;;
  "export logs") mkdir -p "$3" && echo "kind's logs" > "$3/kind-version.txt" ;;
  *) echo "kind stub: $*" >&2; exit 1 ;;
esac
`;

interface SuiteRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly report: { result: string; phase?: string; failure?: string; diagnostics?: string; phases: { phase: string; ok: boolean }[] };
  readonly calls: string[];
  readonly signals: string[];
  readonly out: string;
}

/** Runs the suite with the stubs; `signal` is sent (to the whole group, as a terminal does) once `up` runs. */
async function suite(options: { env?: NodeJS.ProcessEnv; signal?: NodeJS.Signals; toGroup?: boolean } = {}): Promise<SuiteRun> {
  const stub = createPulumiStub();
  fs.writeFileSync(path.join(stub.bin, "docker"), stubDocker, { mode: 0o755 });
  fs.writeFileSync(path.join(stub.bin, "kind"), stubKind, { mode: 0o755 });
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "e2e-out-"));
  try {
    const child = spawn(process.execPath, [...asNpmRuns("test/e2e/e2e.ts"), "--timings", path.join(out, "e2e-timings.json")], {
      cwd: projectRoot,
      env: { ...process.env, ...stub.env(options.env), PATH: `${stub.bin}:/usr/bin:/bin` },
      detached: true,
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const closed = new Promise<number | null>((resolve) => child.on("close", resolve));
    if (options.signal) {
      const started = Date.now();
      while (!stub.times().some((line) => line.startsWith("start ") && line.includes(" up "))) {
        assert.ok(Date.now() - started < 30_000, `up never started:\n${stdout}\n${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      process.kill(options.toGroup ? -child.pid! : child.pid!, options.signal);
    }
    const code = await closed;
    const report = JSON.parse(fs.readFileSync(path.join(out, "e2e-timings.json"), "utf8")) as SuiteRun["report"];
    const signals = stub.times().filter((line) => /^SIG/.test(line));
    return { code, stdout, stderr, report, calls: stub.calls(), signals, out };
  } finally {
    stub.remove();
  }
}

const cleanupRan = (calls: string[]) => {
  assert.ok(
    calls.some((call) => call.startsWith("kind delete cluster --name gitops-e2e-")),
    "kind delete (the safety net) ran",
  );
  assert.ok(
    calls.some((call) => call.startsWith("stack rm --yes --force e2e-")),
    "the stack was removed",
  );
};

describe("the end-to-end suite's own failure paths (stub docker, kind and pulumi)", { concurrency: true }, () => {
  it("a failing phase saves the diagnostics bundle, then cleans up, and reports the phase and why", async () => {
    const run = await suite();
    try {
      assert.equal(run.code, 1, run.stderr);
      assert.equal(run.report.result, "failed");
      assert.equal(run.report.phase, "checks");
      assert.match(run.report.failure!, /stack output kubeconfig is missing/);
      assert.deepEqual(
        run.report.phases.map((phase) => `${phase.phase}:${phase.ok}`),
        ["stack setup:true", "up total:true", "checks:false"],
      );
      const bundle = run.report.diagnostics!;
      assert.equal(bundle, path.join(run.out, "e2e-diagnostics"));
      assert.equal(fs.readFileSync(path.join(bundle, "kind-logs/kind-version.txt"), "utf8"), "kind's logs\n");
      assert.match(
        fs.readFileSync(path.join(bundle, "not-saved.txt"), "utf8"),
        /^cluster objects and logs: no kubeconfig at .*\.kube\/gitops-e2e-[0-9a-f]+\.yaml \(kind never created the cluster\)$/m,
      );
      assert.ok(
        run.calls.some((call) => call.startsWith("destroy ")),
        "the stack was destroyed",
      );
      cleanupRan(run.calls);
      assert.match(run.stderr, /^e2e: FAILED: stack output kubeconfig is missing$/m);
      // Its own cluster name, set as a structured value (as a user sets it), not a JSON string.
      assert.ok(
        run.calls.some((call) => /^config set --path gitops:cluster\.name --stack (e2e-[0-9a-f]+) .*-- gitops-\1 \|/.test(call)),
        run.calls.filter((call) => call.startsWith("config")).join("\n"),
      );
      // Its local registry on, on a port of its own, the server's image on it.
      const configCalls = run.calls.filter((call) => call.startsWith("config set --path")).map((call) => call.split(" | ")[0]!);
      assert.ok(
        configCalls.some((call) => /^config set --path gitops:cluster\.registry\.enabled .* -- true$/.test(call)),
        configCalls.join("\n"),
      );
      assert.ok(
        configCalls.some((call) => /^config set --path gitops:cluster\.registry\.hostPort .* -- [1-9][0-9]{3,4}$/.test(call)),
        configCalls.join("\n"),
      );
      assert.ok(
        configCalls.some((call) =>
          /^config set --path gitops:server\.image .* -- (gitops-e2e-[0-9a-f]+)-registry:5000\/ricoberger\/gitops-using-flux:master-84e319d-1580380800$/.test(
            call,
          ),
        ),
        configCalls.join("\n"),
      );
    } finally {
      fs.rmSync(run.out, { recursive: true, force: true });
    }
  });

  it("a Ctrl-C reaches Pulumi once, waits for its graceful stop, cleans up, and reports interrupted", async () => {
    const run = await suite({ env: { STUB_SECONDS_UP: "30" }, signal: "SIGINT", toGroup: true });
    try {
      assert.equal(run.code, 130, run.stderr);
      // One SIGINT, the terminal's: the suite saw Pulumi say it was cancelling and sent none.
      assert.equal(run.signals.length, 1, run.signals.join("\n"));
      assert.match(run.signals[0]!, /^SIGINT e2e-[0-9a-f]+ up /);
      assert.match(run.stdout, /^pulumi up \| \^C received; cancelling\./m);
      assert.equal(run.report.result, "interrupted");
      assert.equal(run.report.phase, "up total");
      assert.equal(run.report.diagnostics, undefined);
      cleanupRan(run.calls);
    } finally {
      fs.rmSync(run.out, { recursive: true, force: true });
    }
  });

  it("a SIGTERM (a CI cancel, to the suite alone) is passed on to Pulumi once", async () => {
    const run = await suite({ env: { STUB_SECONDS_UP: "30" }, signal: "SIGTERM", toGroup: false });
    try {
      assert.equal(run.code, 130, run.stderr);
      assert.equal(run.signals.length, 1, run.signals.join("\n"));
      assert.match(run.signals[0]!, /^SIGINT e2e-[0-9a-f]+ up /);
      assert.equal(run.report.result, "interrupted");
      cleanupRan(run.calls);
    } finally {
      fs.rmSync(run.out, { recursive: true, force: true });
    }
  });

  it("its own deadline stops Pulumi once, saves diagnostics, cleans up, and reports timed out", async () => {
    const run = await suite({ env: { STUB_SECONDS_UP: "30", E2E_DEADLINE_MINUTES: "0.08" } });
    try {
      assert.equal(run.code, 1, run.stderr);
      assert.equal(run.report.result, "timed out");
      // Stopped in `up` (as a slow machine may still be setting the stack up: then nothing runs to stop).
      assert.ok(["up total", "stack setup"].includes(run.report.phase!), run.report.phase);
      if (run.report.phase === "up total") assert.equal(run.signals.length, 1, run.signals.join("\n"));
      assert.ok(run.report.diagnostics && fs.existsSync(run.report.diagnostics));
      assert.match(run.stderr, /^e2e: TIMED OUT after 0\.08 minutes: /m);
      cleanupRan(run.calls);
    } finally {
      fs.rmSync(run.out, { recursive: true, force: true });
    }
  });

  /** Runs the suite with only the stub pulumi on PATH (no docker, no kind); its exit code and stderr. */
  async function withoutTools(env: NodeJS.ProcessEnv): Promise<{ code: number | null; stderr: string }> {
    const stub = createPulumiStub();
    try {
      const { status, stderr } = await runCli("test/e2e/e2e.ts", [], { env: { PATH: `${stub.bin}:/usr/bin:/bin`, ...env } });
      return { code: status, stderr };
    } finally {
      stub.remove();
    }
  }

  it("with E2E_REQUIRED=1, a missing tool fails the run instead of skipping it", async () => {
    const { code, stderr } = await withoutTools({ E2E_REQUIRED: "1" });
    assert.equal(code, 1);
    assert.match(stderr, /^e2e: FAILED: E2E_REQUIRED=1, but this machine lacks .*kind \(not on PATH\)/m);
  });

  it("refuses a deadline that is not a positive number of minutes, before anything runs", async () => {
    const deadlines = ["soon", "0", "-5"];
    const runs = await Promise.all(deadlines.map((deadline) => withoutTools({ E2E_DEADLINE_MINUTES: deadline, E2E_REQUIRED: "1" })));
    runs.forEach(({ code, stderr }, index) => {
      assert.equal(code, 2, deadlines[index]);
      assert.match(stderr, new RegExp(`^e2e: E2E_DEADLINE_MINUTES="${deadlines[index]}" is not a positive number of minutes$`, "m"));
    });
  });
});

describe("the end-to-end suite's throw-away stack", () => {
  it("is dev under another name: dev's settings without its secrets, and dev's stacks/ files", () => {
    const dir = copyProject("e2e-test");
    try {
      const filesOf = (root: string) =>
        fs
          .readdirSync(root, { recursive: true, withFileTypes: true })
          .filter((entry) => entry.isFile())
          .map((entry) => path.relative(root, path.join(entry.parentPath, entry.name)))
          .sort();
      const devFiles = filesOf(path.join(projectRoot, "stacks/dev"));
      assert.ok(devFiles.includes("flux-values.yaml"), devFiles.join(", "));
      assert.deepEqual(filesOf(path.join(dir, "stacks/e2e-test")), devFiles);
      for (const file of devFiles) {
        assert.equal(
          fs.readFileSync(path.join(dir, "stacks/e2e-test", file), "utf8"),
          fs.readFileSync(path.join(projectRoot, "stacks/dev", file), "utf8"),
          file,
        );
      }
      const settings = (file: string) => (parse(fs.readFileSync(file, "utf8")) as { config: Record<string, unknown> }).config;
      const dev = settings(path.join(projectRoot, "Pulumi.dev.yaml"));
      const secret = (value: unknown) => typeof value === "object" && value !== null && "secure" in value;
      const expected = Object.fromEntries(Object.entries(dev).filter(([, value]) => !secret(value)));
      assert.deepEqual(settings(path.join(dir, "Pulumi.e2e-test.yaml")), expected);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the end-to-end suite's check that destroy left nothing", () => {
  const run: Run = {
    id: "1a2b",
    stackName: "e2e-1a2b",
    clusterName: "gitops-e2e-1a2b",
    projectDir: "/p",
    stateDir: "/s",
    registryPort: 15001,
  };
  /** A machine where `kind get clusters` and `docker ps` print these lines. */
  const machineWith = (clusters: string[], containers: string[], dockerFails = false, registryLeft = false): Machine =>
    fakeMachine((command, args) => {
      const words = [command, ...args].join(" ");
      if (words === "kind get clusters") return Promise.resolve({ found: true, exitCode: 0, stdout: clusters.join("\n") });
      if (words === `docker ps -a --filter label=io.x-k8s.kind.cluster=${run.clusterName} --format {{.Names}}`)
        return Promise.resolve({ found: true, exitCode: dockerFails ? 1 : 0, stdout: containers.join("\n") });
      if (words === `docker container inspect ${run.clusterName}-registry`)
        return Promise.resolve({ found: true, exitCode: registryLeft ? 0 : 1, stdout: registryLeft ? "[{}]" : "" });
      return Promise.resolve({ found: false, exitCode: null, stdout: "" });
    });
  const stateWith = (urns: string[]) => ({
    exportStack: () => Promise.resolve({ version: 3, deployment: { resources: urns.map((urn) => ({ urn })) } }),
  });

  it("passes when kind lists another cluster only, no container is left and the state is empty", async (t) => {
    t.mock.method(console, "log", () => undefined);
    await nothingLeft(run, stateWith([]), machineWith(["gitops-dev"], []));
  });

  it("fails, naming what is left: the cluster, its containers, or resources in the state", async (t) => {
    t.mock.method(console, "log", () => undefined);
    await assert.rejects(nothingLeft(run, stateWith([]), machineWith(["gitops-e2e-1a2b"], [])), {
      message: "kind cluster gitops-e2e-1a2b still exists after destroy",
    });
    await assert.rejects(nothingLeft(run, stateWith([]), machineWith([], ["gitops-e2e-1a2b-control-plane"])), {
      message: "Docker containers of cluster gitops-e2e-1a2b left after destroy: gitops-e2e-1a2b-control-plane",
    });
    await assert.rejects(nothingLeft(run, stateWith([]), machineWith([], [], true)), { message: "docker ps failed" });
    await assert.rejects(nothingLeft(run, stateWith([]), machineWith([], [], false, true)), {
      message: "the local registry container gitops-e2e-1a2b-registry is left after destroy",
    });
    const urn = "urn:pulumi:e2e-1a2b::gitops-using-flux::pulumi:pulumi:Stack::gitops-using-flux-e2e-1a2b";
    await assert.rejects(nothingLeft(run, stateWith([urn]), machineWith([], [])), {
      message: `the stack's state still holds 1 resources after destroy: ${urn}`,
    });
  });
});

describe("the end-to-end report on the two ups", () => {
  it("records what each up fetched through the mirrors, and whether the second met the targets", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "e2e-report-"));
    try {
      const file = path.join(dir, "e2e-timings.json");
      const run: Run = {
        id: "1a2b",
        stackName: "e2e-1a2b",
        clusterName: "gitops-e2e-1a2b",
        projectDir: "/p",
        stateDir: "/s",
        registryPort: 15001,
      };
      const report = new Report(file, run, { kind: "kind v0.32.0", pulumi: "v3.270.0", docker: "28.2.2" });
      report.record("up total", 400_000);
      report.record("second up total", 150_000);
      const first = fetchesBetween({}, { "docker.io": { manifests: 2, blobs: 9 }, "ghcr.io": undefined });
      const second = fetchesBetween({ "docker.io": { manifests: 2, blobs: 9 } }, { "docker.io": { manifests: 2, blobs: 9 } });
      report.recordFetches("up total", first);
      report.recordFetches("second up total", second);
      const written = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
      assert.deepEqual(written.upstreamFetches, {
        "up total": { "docker.io": { manifests: 2, blobs: 9 } },
        "second up total": { "docker.io": { manifests: 0, blobs: 0 } },
      });
      assert.deepEqual(written.warmUp, { secondToFirst: 0.38, halfTheTime: true, dockerHubManifests: 0, noDockerHubPull: true });
      assert.match(report.table(), /^second up total: fetched from the internet through the mirrors: docker\.io 0 manifests, 0 blobs$/m);
      assert.match(
        report.table(),
        /^up total: fetched from the internet through the mirrors: docker\.io 2 manifests, 9 blobs; ghcr\.io \(mirror not running\)$/m,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
