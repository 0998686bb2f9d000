// Preflight as a whole: which checks each command (up, up --all, preview, destroy, doctor) runs
// on a faked machine, and how it prints them. Each check itself: preflight.test.ts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatResults, preflight, type Needs } from "../tools/preflight.ts";
import { healthy, machine, pinnedCli, roomyInotify, stockInotify } from "./support/preflight.ts";

describe("preflight as a whole", () => {
  const kindStacks: Needs = { kindClusters: [{ env: "dev", name: "gitops-dev" }], hostPorts: [] };
  const twoKindStacks: Needs = {
    kindClusters: [
      { env: "dev", name: "gitops-dev" },
      { env: "prod", name: "gitops-prod" },
    ],
    hostPorts: [],
  };
  const statuses = (results: { name: string; status: string }[]) => results.map((result) => `${result.name}:${result.status}`);

  it("passes on a ready machine", async () => {
    const results = await preflight(machine(healthy, { files: roomyInotify }), kindStacks, "up", pinnedCli);
    assert.deepEqual(
      results.filter((result) => result.status !== "ok"),
      [],
    );
    assert.deepEqual(
      results.map((result) => result.name),
      ["node", "pulumi", "docker", "kind", "kubectl", "inotify"],
    );
  });

  it("up of one environment on stock Linux limits: a warning, nothing fails", async () => {
    const results = await preflight(machine(healthy, { files: stockInotify }), kindStacks, "up", pinnedCli);
    assert.deepEqual(statuses(results), ["node:ok", "pulumi:ok", "docker:ok", "kind:ok", "kubectl:ok", "inotify:warn"]);
  });

  it("up --all of two kind environments on stock Linux limits fails", async () => {
    const results = await preflight(machine(healthy, { files: stockInotify }), twoKindStacks, "up", pinnedCli);
    assert.equal(results.find((result) => result.name === "inotify")?.status, "fail");
  });

  it("doctor reports stock limits as a warning, even for every environment", async () => {
    const results = await preflight(machine(healthy, { files: stockInotify }), twoKindStacks, "doctor", pinnedCli);
    assert.equal(results.find((result) => result.name === "inotify")?.status, "warn");
  });

  it("preview needs neither Docker nor kind, even for kind environments", async () => {
    const results = await preflight(
      machine({ "pulumi version": { stdout: "v3.270.0" } }, { files: stockInotify, arch: "arm64" }),
      twoKindStacks,
      "preview",
      pinnedCli,
    );
    assert.deepEqual(statuses(results), ["node:ok", "pulumi:ok", "kubectl:warn"]);
  });

  it("destroy needs Docker and kind, but not the limits, ports or emulation that creating needs", async () => {
    const needs: Needs = {
      ...kindStacks,
      hostPorts: [{ env: "dev", address: "127.0.0.1", port: 18080, setting: "cluster.extraPortMappings" }],
    };
    const results = await preflight(
      machine(healthy, { files: stockInotify, arch: "arm64", busyPorts: [18080] }),
      needs,
      "destroy",
      pinnedCli,
    );
    assert.deepEqual(statuses(results), ["node:ok", "pulumi:ok", "docker:ok", "kind:ok", "kubectl:ok"]);
  });

  it("up fails on a host port in use, unless kind already runs the cluster that holds it", async () => {
    const needs: Needs = {
      ...kindStacks,
      hostPorts: [{ env: "dev", address: "127.0.0.1", port: 18080, setting: "cluster.extraPortMappings" }],
    };
    const busy = { files: roomyInotify, busyPorts: [18080] };
    assert.deepEqual(statuses(await preflight(machine(healthy, busy), needs, "up", pinnedCli)), [
      "node:ok",
      "pulumi:ok",
      "docker:ok",
      "kind:ok",
      "kubectl:ok",
      "inotify:ok",
      "ports:fail",
    ]);
    const running = { ...healthy, "kind get clusters": { stdout: "gitops-prod\ngitops-dev\n" } };
    assert.deepEqual(statuses(await preflight(machine(running, busy), needs, "up", pinnedCli)), [
      "node:ok",
      "pulumi:ok",
      "docker:ok",
      "kind:ok",
      "kubectl:ok",
      "inotify:ok",
    ]);
  });

  it("up on an arm64 Linux host without amd64 emulation warns", async () => {
    const results = await preflight(machine(healthy, { files: roomyInotify, arch: "arm64" }), kindStacks, "up", pinnedCli);
    assert.equal(results.find((result) => result.name === "amd64")?.status, "warn");
  });

  it("does not ask for Docker or kind when no environment creates a kind cluster", async () => {
    const results = await preflight(
      machine({ "pulumi version": { stdout: "v3.270.0" } }),
      { kindClusters: [], hostPorts: [] },
      "up",
      pinnedCli,
    );
    assert.deepEqual(statuses(results), ["node:ok", "pulumi:ok", "kubectl:warn"]);
  });

  it("prints one line per check", async () => {
    const results = await preflight(
      machine({ "docker info --format {{.ServerVersion}}": { exitCode: 1 } }, { files: roomyInotify }),
      kindStacks,
      "up",
      { ...pinnedCli, installed: false },
    );
    assert.equal(
      formatResults(results),
      [
        "ok    node     v22.23.3",
        `ok    pulumi   v${pinnedCli.version} (the project's pinned CLI) is not downloaded yet: the first npm run up|preview|destroy downloads it into ${pinnedCli.root}`,
        "FAIL  docker   the Docker daemon is not reachable (the client is installed) — start Docker Desktop, or: sudo systemctl start docker",
        "FAIL  kind     kind is not installed — https://kind.sigs.k8s.io/docs/user/quick-start/#installation",
        "warn  kubectl  not installed (optional: to look around, and it makes cluster creation fail fast) — https://kubernetes.io/docs/tasks/tools/",
        "ok    inotify  limits fit two clusters",
      ].join("\n"),
    );
  });
});
