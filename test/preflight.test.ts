// The preflight, with the machine faked at its boundary (which executables exist and what
// they print), and once for real on this machine.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  checkDocker,
  checkHostPorts,
  checkInotify,
  checkKind,
  checkKubectl,
  checkNode,
  checkPulumi,
  formatResults,
  preflight,
  type CommandResult,
  type Machine,
  type Needs,
} from "../infra/preflight";
import { dockerDaemonAnswers, executableMissing, runCli } from "./helpers";

type Programs = Record<string, { exitCode?: number; stdout?: string } | undefined>;
/** A machine with exactly these programs (`command arg...` → what it prints) and files. */
function machine(programs: Programs, options: { platform?: NodeJS.Platform; node?: string; files?: Record<string, string>; busyPorts?: number[] } = {}): Machine {
  return {
    platform: options.platform ?? "linux",
    nodeVersion: options.node ?? "v22.23.3",
    run: (command, args): Promise<CommandResult> => {
      const known = Object.keys(programs).some((key) => key.split(" ")[0] === command);
      const program = programs[[command, ...args].join(" ")];
      if (!known) return Promise.resolve({ found: false, exitCode: null, stdout: "" });
      return Promise.resolve({ found: true, exitCode: program?.exitCode ?? 0, stdout: program?.stdout ?? "" });
    },
    readFile: (file) => Promise.resolve(options.files?.[file]),
    portFree: (_address, port) => Promise.resolve(!(options.busyPorts ?? []).includes(port)),
  };
}
const healthy: Programs = {
  "pulumi version": { stdout: "v3.270.0\n" },
  "docker info --format {{.ServerVersion}}": { stdout: "28.2.2\n" },
  "kind version": { stdout: "kind v0.32.0 go1.24.4 linux/amd64\n" },
  "kind get clusters": { stdout: "" },
  "kubectl version --client": { stdout: "Client Version: v1.36.1\nKustomize Version: v5.7.1\n" },
};
const roomyInotify = { "/proc/sys/fs/inotify/max_user_watches": "524288\n", "/proc/sys/fs/inotify/max_user_instances": "512\n" };

describe("preflight checks", () => {
  it("node: 22.12 or newer passes; older fails with the download link", () => {
    assert.deepEqual(checkNode(machine({}, { node: "v22.12.0" })), { name: "node", status: "ok", detail: "v22.12.0" });
    assert.deepEqual(checkNode(machine({}, { node: "v20.20.2" })), {
      name: "node",
      status: "fail",
      detail: "v20.20.2 is too old: need 22.12 or newer — https://nodejs.org/en/download",
    });
  });

  it("pulumi: shows the version; missing fails with the install link", async () => {
    assert.deepEqual(await checkPulumi(machine(healthy)), { name: "pulumi", status: "ok", detail: "v3.270.0" });
    assert.deepEqual(await checkPulumi(machine({})), {
      name: "pulumi",
      status: "fail",
      detail: "the Pulumi CLI is not installed — https://www.pulumi.com/docs/iac/download-install/",
    });
  });

  it("docker: the daemon must answer, not just the client", async () => {
    assert.deepEqual(await checkDocker(machine(healthy)), { name: "docker", status: "ok", detail: "engine 28.2.2" });
    assert.deepEqual(await checkDocker(machine({ "docker info --format {{.ServerVersion}}": { exitCode: 1 } })), {
      name: "docker",
      status: "fail",
      detail: "the Docker daemon is not reachable (the client is installed) — start Docker Desktop, or: sudo systemctl start docker",
    });
    assert.deepEqual(await checkDocker(machine({})), { name: "docker", status: "fail", detail: "Docker is not installed — https://docs.docker.com/get-docker/" });
  });

  it("kind: shows the version, warns below v0.32, fails when missing", async () => {
    assert.deepEqual(await checkKind(machine(healthy)), { name: "kind", status: "ok", detail: "v0.32.0" });
    assert.deepEqual(await checkKind(machine({ "kind version": { stdout: "kind v0.29.0 go1.24.2 linux/amd64" } })), {
      name: "kind",
      status: "warn",
      detail: "v0.29.0 is older than v0.32.0, whose node image the stacks pin — upgrade: https://kind.sigs.k8s.io/docs/user/quick-start/#installation",
    });
    assert.deepEqual(await checkKind(machine({})), {
      name: "kind",
      status: "fail",
      detail: "kind is not installed — https://kind.sigs.k8s.io/docs/user/quick-start/#installation",
    });
  });

  it("kubectl: optional, a warning at most", async () => {
    assert.deepEqual(await checkKubectl(machine(healthy)), { name: "kubectl", status: "ok", detail: "v1.36.1" });
    assert.equal((await checkKubectl(machine({}))).status, "warn");
  });

  it("inotify: kind's limits for two clusters on Linux; nothing to check elsewhere", async () => {
    assert.deepEqual(await checkInotify(machine({}, { files: roomyInotify })), { name: "inotify", status: "ok", detail: "limits fit two clusters" });
    assert.deepEqual(
      await checkInotify(machine({}, { files: { "/proc/sys/fs/inotify/max_user_watches": "8192", "/proc/sys/fs/inotify/max_user_instances": "128" } })),
      {
        name: "inotify",
        status: "fail",
        detail:
          "limits too low for two clusters (max_user_watches 8192 < 524288, max_user_instances 128 < 512) — sudo sysctl fs.inotify.max_user_watches=524288 fs.inotify.max_user_instances=512 (https://kind.sigs.k8s.io/docs/user/known-issues/#pod-errors-due-to-too-many-open-files)",
      },
    );
    assert.equal(await checkInotify(machine({}, { platform: "darwin" })), undefined);
  });

  it("host ports: a port in use fails, unless the environment's own cluster holds it", async () => {
    const needs: Needs = {
      kindClusters: [{ env: "dev", name: "gitops-dev" }],
      hostPorts: [{ env: "dev", address: "127.0.0.1", port: 18080 }],
    };
    assert.deepEqual(await checkHostPorts(machine({}, { busyPorts: [18080] }), needs, []), [
      {
        name: "ports",
        status: "fail",
        detail: "127.0.0.1:18080 (dev: cluster.extraPortMappings) is in use — stop what listens there, or map another hostPort",
      },
    ]);
    assert.deepEqual(await checkHostPorts(machine({}, { busyPorts: [18080] }), needs, ["gitops-dev"]), []);
    assert.deepEqual(await checkHostPorts(machine({}), needs, []), []);
  });
});

describe("preflight as a whole", () => {
  const kindStacks: Needs = { kindClusters: [{ env: "dev", name: "gitops-dev" }], hostPorts: [] };

  it("passes on a ready machine", async () => {
    const results = await preflight(machine(healthy, { files: roomyInotify }), kindStacks);
    assert.deepEqual(results.filter((result) => result.status !== "ok"), []);
    assert.deepEqual(results.map((result) => result.name), ["node", "pulumi", "docker", "kind", "kubectl", "inotify"]);
  });

  it("does not ask for Docker or kind when no environment creates a kind cluster", async () => {
    const results = await preflight(machine({ "pulumi version": { stdout: "v3.270.0" } }), { kindClusters: [], hostPorts: [] });
    assert.deepEqual(results.map((result) => `${result.name}:${result.status}`), ["node:ok", "pulumi:ok", "kubectl:warn"]);
  });

  it("prints one line per check", async () => {
    const results = await preflight(machine({ "docker info --format {{.ServerVersion}}": { exitCode: 1 } }, { files: roomyInotify }), kindStacks);
    assert.equal(
      formatResults(results),
      [
        "ok    node     v22.23.3",
        "FAIL  pulumi   the Pulumi CLI is not installed — https://www.pulumi.com/docs/iac/download-install/",
        "FAIL  docker   the Docker daemon is not reachable (the client is installed) — start Docker Desktop, or: sudo systemctl start docker",
        "FAIL  kind     kind is not installed — https://kind.sigs.k8s.io/docs/user/quick-start/#installation",
        "warn  kubectl  not installed (optional: to look around, and it makes cluster creation fail fast) — https://kubernetes.io/docs/tasks/tools/",
        "ok    inotify  limits fit two clusters",
      ].join("\n"),
    );
  });
});

describe("npm run doctor on this machine", () => {
  it("names exactly the tools this machine lacks, quickly, and exits 1 when any is missing", () => {
    // Found out independently of the preflight: which executables are missing, whether Docker's daemon answers.
    const expected = [
      ...(executableMissing("pulumi") ? ["pulumi"] : []),
      ...(dockerDaemonAnswers() ? [] : ["docker"]),
      ...(executableMissing("kind") ? ["kind"] : []),
    ];
    const result = runCli("infra/cli/doctor.ts", []);
    const failed = result.stderr.split("\n").filter((line) => line.startsWith("FAIL")).map((line) => line.split(/\s+/)[1]);
    for (const tool of expected) assert.ok(failed.includes(tool), `${tool} is missing here but not reported:\n${result.stderr}`);
    for (const tool of ["pulumi", "docker", "kind"]) {
      if (!expected.includes(tool)) assert.ok(!failed.includes(tool), `${tool} is here but reported missing`);
    }
    if (expected.length > 0) assert.equal(result.status, 1);
    const seconds = Number(/\((\d+\.\d)s\)$/m.exec(result.stderr)?.[1]);
    assert.ok(seconds < 2, `checks took ${seconds}s`);
  });

  it("refuses an unknown environment", () => {
    const result = runCli("infra/cli/doctor.ts", ["staging"]);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /^gitops: no environment staging \(environments: dev, prod\)/);
  });
});
