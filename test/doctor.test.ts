// npm run doctor [-- <env>...]: the preflight of every environment (or the named ones), one line
// per check. Its main runs in-process on a fake machine; one test runs it as a process on this one.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { main } from "../tools/doctor.ts";
import type { Machine } from "../tools/machine.ts";
import { pinnedPulumiVersion } from "../tools/pulumiCli.ts";
import { gitOfHealthyCheckout } from "./support/preflight.ts";
import { captureIo, projectCopy } from "./helpers.ts";

const usage = "usage: npm run doctor -- [<env>...|--all]   (environments: dev, prod)";

/** A Linux x64 machine with exactly these programs (`command arg...` → what it prints), roomy inotify limits, and these ports in use. */
function machine(programs: Record<string, string>, busyPorts: number[] = []): Machine {
  return {
    platform: "linux",
    arch: "x64",
    nodeVersion: "v22.23.3",
    run: (command, args) => {
      const git = gitOfHealthyCheckout(command, args);
      if (git) return Promise.resolve(git);
      const found = Object.keys(programs).some((key) => key.split(" ")[0] === command);
      const stdout = programs[[command, ...args].join(" ")];
      return Promise.resolve(
        found ? { found, exitCode: stdout === undefined ? 1 : 0, stdout: stdout ?? "" } : { found, exitCode: null, stdout: "" },
      );
    },
    readFile: (file) =>
      Promise.resolve({ "/proc/sys/fs/inotify/max_user_watches": "524288\n", "/proc/sys/fs/inotify/max_user_instances": "512\n" }[file]),
    listDirectory: () => Promise.resolve([]),
    portFree: (_address, port) => Promise.resolve(!busyPorts.includes(port)),
  };
}
const healthy = {
  "pulumi version": "v3.270.0\n",
  "docker info --format {{.ServerVersion}}": "28.2.2\n",
  "kind version": "kind v0.32.0 go1.24.4 linux/amd64\n",
  "kind get clusters": "",
  "kubectl version --client": "Client Version: v1.36.1\n",
};
const withoutPulumiAndKind = {
  "docker info --format {{.ServerVersion}}": "28.2.2\n",
  "kubectl version --client": "Client Version: v1.36.1\n",
};

/** A Pulumi home holding the project's pinned CLI (tools/pulumiCli.ts), which prints `says` for `pulumi version`. */
function pulumiHome(says = "v3.270.0"): { home: string; bin: string; remove(): void } {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "doctor-pulumi-home-"));
  const bin = path.join(home, "versions", pinnedPulumiVersion, "bin");
  fs.mkdirSync(bin, { recursive: true });
  fs.writeFileSync(path.join(bin, "pulumi"), `#!/usr/bin/env bash\necho "${says}"\n`, { mode: 0o755 });
  return { home, bin, remove: () => fs.rmSync(home, { recursive: true, force: true }) };
}
const notDownloaded = `ok    pulumi   v${pinnedPulumiVersion} (the project's pinned CLI) is not downloaded yet: the first npm run up|preview|destroy downloads it into /home/demo/.pulumi/versions/${pinnedPulumiVersion}`;

/** The doctor's report with the seconds it took (which vary) as <t>. */
const report = (stderr: string) => stderr.replace(/ \(\d+\.\d+s\)\n$/, " (<t>s)\n");

describe("npm run doctor", () => {
  it("checks what every environment needs, one line per check, and exits 0 when all pass", async () => {
    const pulumi = pulumiHome();
    const io = captureIo({ env: { HOME: "/home/demo", PULUMI_HOME: pulumi.home } });
    assert.equal(await main([], io, machine(healthy)), 0, io.err());
    pulumi.remove();
    assert.equal(
      report(io.err()),
      [
        "ok    node     v22.23.3",
        `ok    pulumi   v3.270.0 (the project's pinned CLI, in ${pulumi.bin})`,
        "ok    docker   engine 28.2.2",
        "ok    kind     v0.32.0",
        "ok    kubectl  v1.36.1",
        "ok    inotify  limits fit two clusters",
        "ok    git      git version 2.43.0; commit 84e319d fills the local Git server of dev, prod",
        "ok    mirrors  not started yet: the next npm run up starts them (npm run mirrors -- status)",
        "warn  dockerhub this machine and the Docker Hub mirror pull from Docker Hub anonymously: 10 pulls per hour per IP address — docker login (for this machine's own pulls); export DOCKER_HUB_USERNAME and DOCKER_HUB_TOKEN (a read-only access token), then npm run up, so the mirror pulls as you; nothing is written into the project",
        "preflight for dev, prod: ready (<t>s)",
        "",
      ].join("\n"),
    );
    assert.equal(io.out(), "");
  });

  it("names what the machine lacks, with how to get it, and what still works, and exits 1; a Pulumi CLI not downloaded yet is none of it", async () => {
    const io = captureIo({ env: { HOME: "/home/demo" } });
    assert.equal(await main(["dev"], io, machine(withoutPulumiAndKind)), 1);
    assert.equal(
      report(io.err()),
      [
        "ok    node     v22.23.3",
        notDownloaded,
        "ok    docker   engine 28.2.2",
        "FAIL  kind     kind is not installed — https://kind.sigs.k8s.io/docs/user/quick-start/#installation",
        "ok    kubectl  v1.36.1",
        "ok    inotify  limits fit two clusters",
        "ok    git      git version 2.43.0; commit 84e319d fills the local Git server of dev",
        "ok    mirrors  not started yet: the next npm run up starts them (npm run mirrors -- status)",
        "warn  dockerhub this machine and the Docker Hub mirror pull from Docker Hub anonymously: 10 pulls per hour per IP address — docker login (for this machine's own pulls); export DOCKER_HUB_USERNAME and DOCKER_HUB_TOKEN (a read-only access token), then npm run up, so the mirror pulls as you; nothing is written into the project",
        "gitops: without Docker and kind, npm run render -- <env> still works: it shows what a stack would apply, offline",
        "preflight for dev: 1 problem (<t>s)",
        "",
      ].join("\n"),
    );
  });

  it("fails on a host port a named environment maps when something else holds it", async () => {
    const project = projectCopy({
      "Pulumi.web.yaml": "config:\n  gitops:cluster:\n    extraPortMappings:\n      - {containerPort: 30080, hostPort: 18080}\n",
    });
    try {
      const io = captureIo({ root: project.root });
      assert.equal(await main(["web"], io, machine(healthy, [18080])), 1);
      assert.match(
        report(io.err()),
        /\nFAIL {2}ports {4}127\.0\.0\.1:18080 \(web: cluster\.extraPortMappings\) is in use — stop what listens there, or choose another port in cluster.extraPortMappings\n(?:(?:ok|warn) .*\n)*preflight for web: 1 problem \(<t>s\)\n$/,
      );
      // dev maps no port: the port is not its concern.
      const devOnly = captureIo({ root: project.root });
      assert.equal(await main(["dev"], devOnly, machine(healthy, [18080])), 0, devOnly.err());
    } finally {
      project.remove();
    }
  });

  it("reports an environment whose settings are invalid, with its problems, and still checks the others", async () => {
    const project = projectCopy({ "Pulumi.broken.yaml": "config:\n  gitops:cluster:\n    workers: -2\n" });
    try {
      const io = captureIo({ root: project.root, env: { HOME: "/home/demo" } });
      assert.equal(await main([], io, machine(healthy)), 1);
      assert.equal(
        report(io.err()),
        [
          'gitops: Invalid configuration for stack "broken" (1 problem):',
          "  - gitops:cluster.workers: -2 — must be a whole number from 0 to 10",
          "ok    node     v22.23.3",
          notDownloaded,
          "ok    docker   engine 28.2.2",
          "ok    kind     v0.32.0",
          "ok    kubectl  v1.36.1",
          "ok    inotify  limits fit two clusters",
          "ok    git      git version 2.43.0; commit 84e319d fills the local Git server of dev, prod",
          "FAIL  config   broken: its settings are invalid (above)",
          "ok    mirrors  not started yet: the next npm run up starts them (npm run mirrors -- status)",
          "warn  dockerhub this machine and the Docker Hub mirror pull from Docker Hub anonymously: 10 pulls per hour per IP address — docker login (for this machine's own pulls); export DOCKER_HUB_USERNAME and DOCKER_HUB_TOKEN (a read-only access token), then npm run up, so the mirror pulls as you; nothing is written into the project",
          "preflight for dev, prod, broken: 1 problem (<t>s)",
          "",
        ].join("\n"),
      );
    } finally {
      project.remove();
    }
  });

  it("refuses an unknown environment, naming the ones there are (exit 2)", async () => {
    const io = captureIo();
    assert.equal(await main(["dev", "staging"], io, machine(healthy)), 2);
    assert.equal(io.err(), `gitops: no environment "staging": Pulumi.staging.yaml does not exist (environments: dev, prod)\n${usage}\n`);
  });

  it("prints its usage on stdout with --help (exit 0)", async () => {
    const io = captureIo();
    assert.equal(await main(["--help"], io, machine(healthy)), 0);
    assert.ok(io.out().startsWith(`${usage}\n\nChecks this machine`), io.out());
    assert.equal(io.err(), "");
  });

  it("probes the programs on the PATH of its io's environment, and the project's pinned CLI, never a pulumi on PATH", async () => {
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), "doctor-stubs-"));
    fs.writeFileSync(path.join(bin, "pulumi"), '#!/usr/bin/env bash\necho "v3.111.0"\n', { mode: 0o755 });
    fs.writeFileSync(path.join(bin, "kind"), '#!/usr/bin/env bash\necho "kind v0.32.0 go1.24.4 linux/amd64"\n', { mode: 0o755 });
    const pulumi = pulumiHome("v3.999.0");
    try {
      const io = captureIo({ env: { PATH: `${bin}:/usr/bin:/bin`, PULUMI_HOME: pulumi.home } });
      await main(["dev"], io);
      assert.match(io.err(), /^ok {4}pulumi {3}v3\.999\.0 \(the project's pinned CLI, in .*\)$/m);
      assert.match(io.err(), /^ok {4}kind {5}v0\.32\.0$/m);
    } finally {
      fs.rmSync(bin, { recursive: true, force: true });
      pulumi.remove();
    }
  });
});
