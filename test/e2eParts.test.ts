// The end-to-end suite's parts that need no Pulumi: the throw-away stack's project copy, the check
// that destroy left nothing, and the report of the two ups.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { projectRoot } from "../infra/settings/index.ts";
import type { Machine } from "../tools/machine.ts";
import { nothingLeft } from "./e2e/afterChecks.ts";
import { withProgress } from "./e2e/common.ts";
import { dockerHubPulls, fetchesBetween, Report } from "./e2e/report.ts";
import { copyProject, type Run } from "./e2e/throwawayStack.ts";
import { fakeMachine } from "./support/machine.ts";

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
      assert.ok(devFiles.includes("apps/kustomization.yaml"), devFiles.join(", "));
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

/** A run of the suite, as its parts see it (nothing here is created). */
const sampleRun: Run = {
  id: "1a2b",
  stackName: "e2e-1a2b",
  clusterName: "gitops-e2e-1a2b",
  projectDir: "/p",
  stateDir: "/s",
  registryPort: 15001,
  gitPort: 13001,
};

describe("the end-to-end suite's check that destroy left nothing", () => {
  const silent = { write: () => true };
  const run = sampleRun;
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

  it("passes when kind lists another cluster only, no container is left and the state is empty", async () => {
    await withProgress(silent, () => nothingLeft(run, stateWith([]), machineWith(["gitops-dev"], [])));
  });

  it("fails, naming what is left: the cluster, its containers, or resources in the state", async () => {
    await withProgress(silent, async () => {
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
});

describe("the end-to-end report on the two ups", () => {
  it("estimates Docker Hub's pulls from manifest fetches as it counts them: one per image and platform", () => {
    // An index and a platform manifest are one pull; a single-platform manifest alone is one too.
    assert.deepEqual(
      [0, 1, 2, 3, 8].map((fetches) => dockerHubPulls(fetches)),
      [
        { atLeast: 0, atMost: 0 },
        { atLeast: 1, atMost: 1 },
        { atLeast: 1, atMost: 2 },
        { atLeast: 2, atMost: 3 },
        { atLeast: 4, atMost: 8 },
      ],
    );
  });

  it("records what each up fetched through the mirrors, and whether the second met the targets", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "e2e-report-"));
    try {
      const file = path.join(dir, "e2e-timings.json");
      const report = new Report(file, sampleRun, { kind: "kind v0.32.0", pulumi: "v3.270.0", docker: "28.2.2" });
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
      assert.deepEqual(written.warmUp, {
        secondToFirst: 0.38,
        halfTheTime: true,
        dockerHubManifestFetches: 0,
        dockerHubPulls: { atLeast: 0, atMost: 0 },
        noDockerHubPull: true,
      });
      assert.match(
        report.table(),
        /^second up total: fetched from the internet through the mirrors: docker\.io 0 manifest fetches \(0 Docker Hub pulls\), 0 blobs$/m,
      );
      assert.match(
        report.table(),
        /^up total: fetched from the internet through the mirrors: docker\.io 2 manifest fetches \(1-2 Docker Hub pulls\), 9 blobs; ghcr\.io \(mirror not running\)$/m,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
