// The preflight checks one by one, with the machine faked at its boundary (which executables
// exist and what they print, which files and ports there are), and what the environments need
// from the machine. Which checks each command runs: preflightCommands.test.ts; doctor.test.ts
// runs them through the tool.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import {
  checkAmd64Emulation,
  checkDocker,
  checkGitCheckout,
  checkHostPorts,
  checkInotify,
  checkKind,
  checkKubectl,
  checkNode,
  checkPulumi,
  emulatesAmd64,
  needsOf,
  type Needs,
} from "../tools/preflight.ts";
import { loadEnvironment } from "../tools/environments.ts";
import { fixtures, projectCopy } from "./helpers.ts";
import { pinnedPulumiVersion } from "../tools/pulumiCli.ts";
import { healthy, machine, pinnedCli, roomyInotify, stockInotify } from "./support/preflight.ts";

// What `docker run --privileged tonistiigi/binfmt --install amd64` registers (qemu-x86_64).
const qemuAmd64 = [
  "enabled",
  "interpreter /usr/bin/qemu-x86_64",
  "flags: POCF",
  "offset 0",
  "magic 7f454c4602010100000000000000000002003e00",
  "mask fffffffffffefe00fffffffffffffffffeffffff",
].join("\n");
// The same machine's entry for 32-bit ARM: emulation, but not of amd64.
const qemuArm = qemuAmd64
  .replace("qemu-x86_64", "qemu-arm")
  .replace("magic 7f454c4602010100000000000000000002003e00", "magic 7f454c4601010100000000000000000002002800");

describe("preflight checks", () => {
  it("node: 22.19.0 (package.json's engines) or newer passes; older fails with the download link", () => {
    for (const version of ["v22.19.0", "v22.23.3", "v24.1.0", "v25.0.0"]) {
      assert.deepEqual(checkNode(machine({}, { node: version })), { name: "node", status: "ok", detail: version });
    }
    for (const version of ["v20.20.2", "v22.12.0", "v22.18.9", "v21.99.0"]) {
      assert.deepEqual(checkNode(machine({}, { node: version })), {
        name: "node",
        status: "fail",
        detail: `${version} is too old: need 22.19.0 or newer — https://nodejs.org/en/download`,
      });
    }
  });

  it("pulumi: warns below v3.260.0 (a PULUMI_VERSION older than the project's), where a replaced cluster's objects are deleted one by one", async () => {
    const older = { ...pinnedCli, version: "3.259.0" };
    assert.deepEqual(await checkPulumi(machine({ "pulumi version": { stdout: "v3.259.0\n" } }), older), {
      name: "pulumi",
      status: "warn",
      detail: `v3.259.0 is older than v3.260.0: changing a cluster's shape would delete its objects one by one (docs/troubleshooting.md) — unset PULUMI_VERSION to use the project's v${pinnedPulumiVersion}`,
    });
  });

  it("pulumi: the project's pinned CLI, with its version and folder; one not downloaded yet is fine, and says where it will go", async () => {
    assert.deepEqual(await checkPulumi(machine(healthy), pinnedCli), {
      name: "pulumi",
      status: "ok",
      detail: `v3.270.0 (the project's pinned CLI, in ${pinnedCli.bin})`,
    });
    assert.deepEqual(await checkPulumi(machine({}), { ...pinnedCli, installed: false }), {
      name: "pulumi",
      status: "ok",
      detail: `v${pinnedPulumiVersion} (the project's pinned CLI) is not downloaded yet: the first npm run up|preview|destroy downloads it into ${pinnedCli.root}`,
    });
    assert.deepEqual(await checkPulumi(machine({}), pinnedCli), {
      name: "pulumi",
      status: "fail",
      detail: `the Pulumi CLI is not in ${pinnedCli.bin} — remove ${pinnedCli.root} and run again to download it`,
    });
  });

  it("pulumi: a probe that does not answer in time, or fails, says so and how to fix it", async () => {
    assert.deepEqual(await checkPulumi(machine({ "pulumi version": { timedOut: true } }), pinnedCli), {
      name: "pulumi",
      status: "fail",
      detail: `\`pulumi version\` did not answer within 10s — try again; if it hangs, remove ${pinnedCli.root} and run again to download it`,
    });
    assert.deepEqual(await checkPulumi(machine({ "pulumi version": { exitCode: 1, stdout: "v3.270.0" } }), pinnedCli), {
      name: "pulumi",
      status: "fail",
      detail: `\`pulumi version\` failed — remove ${pinnedCli.root} and run again to download it`,
    });
    assert.equal(
      (await checkPulumi(machine({ "pulumi version": { stdout: "warning: no version\n" } }), pinnedCli)).status,
      "fail",
      "no version in what it printed",
    );
  });

  it("git: a local Git server needs git, a commit and a full history in the checkout it is filled from", async () => {
    /** A machine whose git answers `answers` (by its words after -C <dir>), or that has no git. */
    const withGit = (answers: Record<string, string> | undefined) => {
      const base = machine({});
      return {
        ...base,
        run: (command: string, args: readonly string[]) => {
          if (command !== "git") return base.run(command, args);
          if (answers === undefined) return Promise.resolve({ found: false, exitCode: null, stdout: "" });
          const stdout = answers[(args[0] === "-C" ? args.slice(2) : args).join(" ")];
          return Promise.resolve(stdout === undefined ? { found: true, exitCode: 128, stdout: "" } : { found: true, exitCode: 0, stdout });
        },
      };
    };
    const version = { "--version": "git version 2.43.0\n" };
    const commit = { "rev-parse --verify --quiet HEAD": "84e319d0a1b2c3d4e5f60718293a4b5c6d7e8f90\n" };
    assert.deepEqual(await checkGitCheckout(withGit(undefined), "/p", ["dev"]), {
      name: "git",
      status: "fail",
      detail: "git is not installed (dev: the local Git server is filled from this checkout) — install git",
    });
    assert.deepEqual(await checkGitCheckout(withGit(version), "/p", ["dev"]), {
      name: "git",
      status: "fail",
      detail:
        "this project folder is not a Git repository with a commit (dev: the local Git server is filled from this checkout) — git init && git add -A && git commit -m 'GitOps demo'",
    });
    assert.deepEqual(
      await checkGitCheckout(withGit({ ...version, ...commit, "rev-parse --is-shallow-repository": "true\n" }), "/p", ["dev", "prod"]),
      {
        name: "git",
        status: "fail",
        detail: "this checkout is shallow (dev, prod: the local Git server is filled from this checkout) — git fetch --unshallow",
      },
    );
  });

  it("docker: the daemon must answer, not just the client", async () => {
    assert.deepEqual(await checkDocker(machine(healthy)), { name: "docker", status: "ok", detail: "engine 28.2.2" });
    assert.deepEqual(await checkDocker(machine({ "docker info --format {{.ServerVersion}}": { exitCode: 1 } })), {
      name: "docker",
      status: "fail",
      detail: "the Docker daemon is not reachable (the client is installed) — start Docker Desktop, or: sudo systemctl start docker",
    });
    assert.deepEqual(await checkDocker(machine({})), {
      name: "docker",
      status: "fail",
      detail: "Docker is not installed — https://docs.docker.com/get-docker/",
    });
  });

  it("docker: shows Docker's own words, and tells a stopped daemon from a socket this user may not use", async () => {
    // What the Docker client prints (moby client/errors.go and client/request.go).
    const stopped = "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?";
    assert.deepEqual(await checkDocker(machine({ "docker info --format {{.ServerVersion}}": { exitCode: 1, stderr: `\n${stopped}\n` } })), {
      name: "docker",
      status: "fail",
      detail: `the Docker daemon is not reachable (the client is installed): ${stopped} — start Docker Desktop, or: sudo systemctl start docker`,
    });
    const refused = "permission denied while trying to connect to the docker API at unix:///var/run/docker.sock";
    assert.deepEqual(await checkDocker(machine({ "docker info --format {{.ServerVersion}}": { exitCode: 1, stderr: `${refused}\n` } })), {
      name: "docker",
      status: "fail",
      detail: `Docker refuses this user: ${refused} — add yourself to the docker group (sudo usermod -aG docker "$USER", then log in again), or use Docker Desktop`,
    });
  });

  it("docker: a probe that does not answer in time is reported as a timeout, not as a missing daemon", async () => {
    assert.deepEqual(await checkDocker(machine({ "docker info --format {{.ServerVersion}}": { timedOut: true } })), {
      name: "docker",
      status: "fail",
      detail:
        "`docker info` did not answer within 10s — the daemon may still be starting or be hung: wait and try again, or restart Docker",
    });
  });

  it("kind: shows the version, warns below v0.32, fails when missing", async () => {
    assert.deepEqual(await checkKind(machine(healthy)), { name: "kind", status: "ok", detail: "v0.32.0" });
    assert.deepEqual(await checkKind(machine({ "kind version": { stdout: "kind v0.29.0 go1.24.2 linux/amd64" } })), {
      name: "kind",
      status: "warn",
      detail:
        "v0.29.0 is older than v0.32.0, whose node image the stacks pin — upgrade: https://kind.sigs.k8s.io/docs/user/quick-start/#installation",
    });
    assert.deepEqual(await checkKind(machine({})), {
      name: "kind",
      status: "fail",
      detail: "kind is not installed — https://kind.sigs.k8s.io/docs/user/quick-start/#installation",
    });
  });

  it("kind: a probe that does not answer in time, or fails, says so and how to fix it", async () => {
    assert.deepEqual(await checkKind(machine({ "kind version": { timedOut: true } })), {
      name: "kind",
      status: "fail",
      detail: "`kind version` did not answer within 10s — try again; if it hangs, reinstall it",
    });
    assert.deepEqual(await checkKind(machine({ "kind version": { exitCode: 2 } })), {
      name: "kind",
      status: "fail",
      detail: "`kind version` failed — reinstall: https://kind.sigs.k8s.io/docs/user/quick-start/#installation",
    });
  });

  it("kubectl: optional, a warning at most", async () => {
    assert.deepEqual(await checkKubectl(machine(healthy)), { name: "kubectl", status: "ok", detail: "v1.36.1" });
    assert.deepEqual(await checkKubectl(machine({ "kubectl version --client": { stdout: "something else" } })), {
      name: "kubectl",
      status: "ok",
      detail: "installed",
    });
    assert.deepEqual(await checkKubectl(machine({})), {
      name: "kubectl",
      status: "warn",
      detail: "not installed (optional: to look around, and it makes cluster creation fail fast) — https://kubernetes.io/docs/tasks/tools/",
    });
  });

  it("inotify: stock limits are a warning with the fix for one cluster; a failure for two at once; nothing to check off Linux", async () => {
    const fix =
      "sudo sysctl fs.inotify.max_user_watches=524288 fs.inotify.max_user_instances=512 (https://kind.sigs.k8s.io/docs/user/known-issues/#pod-errors-due-to-too-many-open-files)";
    assert.deepEqual(await checkInotify(machine({}, { files: roomyInotify }), 2), {
      name: "inotify",
      status: "ok",
      detail: "limits fit two clusters",
    });
    assert.deepEqual(await checkInotify(machine({}, { files: stockInotify }), 1), {
      name: "inotify",
      status: "warn",
      detail: `limits fit one cluster, not two at once (max_user_watches 65536 < 524288, max_user_instances 128 < 512); up --all would stop here — ${fix}`,
    });
    assert.deepEqual(await checkInotify(machine({}, { files: stockInotify }), 2), {
      name: "inotify",
      status: "fail",
      detail: `limits too low for 2 clusters at once (max_user_watches 65536 < 524288, max_user_instances 128 < 512) — ${fix}`,
    });
    assert.equal(await checkInotify(machine({}, { platform: "darwin" }), 2), undefined);
  });

  it("amd64: an arm64 Linux host without amd64 emulation is warned, with the fix", async () => {
    const arm64 = (files: Record<string, string>) =>
      machine({}, { arch: "arm64", files: { "/proc/sys/fs/binfmt_misc/status": "enabled", ...files } });
    assert.deepEqual(await checkAmd64Emulation(arm64({ "/proc/sys/fs/binfmt_misc/qemu-arm": qemuArm })), {
      name: "amd64",
      status: "warn",
      detail:
        "this arm64 host cannot run amd64 images, and the demo server image is amd64 only (its pods would crash: exec format error) — register emulation: docker run --privileged --rm tonistiigi/binfmt --install amd64 (https://docs.docker.com/build/building/multi-platform/#qemu)",
    });
    assert.deepEqual(await checkAmd64Emulation(arm64({ "/proc/sys/fs/binfmt_misc/qemu-x86_64": qemuAmd64 })), {
      name: "amd64",
      status: "ok",
      detail: "emulated (binfmt_misc qemu-x86_64)",
    });
    assert.equal(
      (await checkAmd64Emulation(arm64({ "/proc/sys/fs/binfmt_misc/qemu-x86_64": qemuAmd64.replace("enabled", "disabled") })))?.status,
      "warn",
    );
    assert.equal(await checkAmd64Emulation(machine({}, { arch: "x64" })), undefined, "amd64 hosts run it natively");
    assert.equal(
      await checkAmd64Emulation(machine({}, { arch: "arm64", platform: "darwin" })),
      undefined,
      "Docker Desktop emulates amd64 itself",
    );
  });

  it("amd64: recognises x86-64 by the ELF machine field of the binfmt magic", () => {
    assert.equal(emulatesAmd64(qemuAmd64), true);
    assert.equal(emulatesAmd64(qemuArm), false);
    assert.equal(emulatesAmd64(""), false);
  });

  it("host ports: a port in use fails, unless the environment's own cluster holds it", async () => {
    const needs: Needs = {
      kindClusters: [{ env: "dev", name: "gitops-dev" }],
      hostPorts: [{ env: "dev", address: "127.0.0.1", port: 18080, setting: "cluster.extraPortMappings" }],
    };
    assert.deepEqual(await checkHostPorts(machine({}, { busyPorts: [18080] }), needs, []), [
      {
        name: "ports",
        status: "fail",
        detail:
          "127.0.0.1:18080 (dev: cluster.extraPortMappings) is in use — stop what listens there, or choose another port in cluster.extraPortMappings",
      },
    ]);
    assert.deepEqual(await checkHostPorts(machine({}, { busyPorts: [18080] }), needs, ["gitops-dev"]), []);
    assert.deepEqual(await checkHostPorts(machine({}), needs, []), []);
  });
});

describe("what the environments need from the machine", () => {
  it("a kind cluster with its host ports (mappings, the local registry and Git server) for each kind environment; nothing for an existing cluster", () => {
    const project = projectCopy({
      "Pulumi.web.yaml":
        "config:\n  gitops:cluster:\n    extraPortMappings:\n      - {containerPort: 30080, hostPort: 18080}\n      - {containerPort: 30443, hostPort: 18443, listenAddress: 0.0.0.0}\n    registry: {enabled: true, hostPort: 5005}\n    gitServer: {enabled: true, hostPort: 3005}\n",
      "Pulumi.byo.yaml":
        "config:\n  gitops:cluster:\n    kind: existing\n    kubeconfigPath: ./kube/team.yaml\n    context: team-cluster\n",
      "kube/team.yaml": fs.readFileSync(path.join(fixtures, "kubeconfig-existing.yaml"), "utf8"),
    });
    try {
      const environments = ["dev", "web", "byo"].map((name) => loadEnvironment(name, project.root));
      assert.deepEqual(needsOf(environments), {
        kindClusters: [
          { env: "dev", name: "gitops-dev" },
          { env: "web", name: "gitops-web" },
        ],
        hostPorts: [
          { env: "dev", address: "127.0.0.1", port: 5001, setting: "cluster.registry.hostPort" },
          { env: "dev", address: "127.0.0.1", port: 3001, setting: "cluster.gitServer.hostPort" },
          { env: "web", address: "127.0.0.1", port: 18080, setting: "cluster.extraPortMappings" },
          { env: "web", address: "0.0.0.0", port: 18443, setting: "cluster.extraPortMappings" },
          { env: "web", address: "127.0.0.1", port: 5005, setting: "cluster.registry.hostPort" },
          { env: "web", address: "127.0.0.1", port: 3005, setting: "cluster.gitServer.hostPort" },
        ],
        gitServers: ["dev", "web"],
      });
    } finally {
      project.remove();
    }
  });
});
