// npm run up|preview|destroy -- <env>|--all: the Pulumi CLI invocations, defaults, parallel
// runs and errors, with the Pulumi CLI (and kind) replaced by stubs on PATH.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import { changedResources, demoPassphrase, planLifecycle, summaryTable } from "../infra/cli/pulumi";
import { projectRoot } from "../infra/config";
import { projectCopy, runCli } from "./helpers";
import { pulumiStubScript } from "./support/pulumiStub";

describe("lifecycle plan", () => {
  it("selects (or creates) the stack, then runs the command for it with the extra options", () => {
    const plan = planLifecycle("up", "dev", ["--diff"], {});
    assert.deepEqual(plan.invocations, [
      ["stack", "select", "--create", "dev", "--secrets-provider", "passphrase"],
      ["up", "--stack", "dev", "--diff"],
    ]);
  });

  it("uses the demo passphrase only when the user sets none", () => {
    assert.deepEqual(planLifecycle("preview", "dev", [], {}).environment, { PULUMI_CONFIG_PASSPHRASE: demoPassphrase });
    assert.deepEqual(planLifecycle("preview", "dev", [], { PULUMI_CONFIG_PASSPHRASE: "mine" }).environment, {});
    assert.deepEqual(planLifecycle("preview", "dev", [], { PULUMI_CONFIG_PASSPHRASE_FILE: "/tmp/p" }).environment, {});
  });

  it("leaves a backend chosen with PULUMI_BACKEND_URL alone, with its own secrets provider", () => {
    const plan = planLifecycle("destroy", "prod", [], { PULUMI_BACKEND_URL: "s3://team-state" });
    assert.deepEqual(plan.environment, {});
    assert.deepEqual(plan.invocations[0], ["stack", "select", "--create", "prod"]);
    assert.ok(plan.notes.includes("state: s3://team-state (PULUMI_BACKEND_URL)"));
  });

  it("runs unattended without prompts, except preview which never prompts", () => {
    assert.deepEqual(planLifecycle("up", "dev", [], {}, { unattended: true }).invocations[1], ["up", "--stack", "dev", "--yes", "--non-interactive"]);
    assert.deepEqual(planLifecycle("preview", "dev", [], {}, { unattended: true }).invocations[1], ["preview", "--stack", "dev"]);
  });

  it("destroys a stack whose cluster is gone by refreshing with PULUMI_K8S_DELETE_UNREACHABLE first", () => {
    const plan = planLifecycle("destroy", "dev", [], {}, { unattended: true, clusterGone: true });
    assert.equal(plan.environment.PULUMI_K8S_DELETE_UNREACHABLE, "true");
    assert.deepEqual(plan.invocations.slice(1), [
      ["refresh", "--stack", "dev", "--yes", "--non-interactive"],
      ["destroy", "--stack", "dev", "--yes", "--non-interactive"],
    ]);
  });
});

describe("summary", () => {
  it("counts what Pulumi's summary says changed", () => {
    const up = "Outputs:\n    clusterName: gitops-dev\n\nResources:\n    + 20 created\n    ~ 1 updated\n    +-1 replaced\n    22 changes. 3 unchanged\n";
    assert.equal(changedResources(up), 22);
    assert.equal(changedResources("Resources:\n    + 21 to create\n    - 2 to delete\n"), 23);
    assert.equal(changedResources("Resources:\n    25 unchanged\n"), 0);
    assert.equal(changedResources("error: something failed"), undefined);
  });

  it("is a table of environment, result, duration and resources changed", () => {
    assert.equal(
      summaryTable([
        { env: "dev", exitCode: 0, seconds: 192.4, changed: 20 },
        { env: "prod", exitCode: 3, seconds: 45, changed: undefined },
      ]),
      [
        "environment  result           duration  resources changed",
        "dev          ok               3m12s     20",
        "prod         failed (exit 3)  0m45s     -",
      ].join("\n"),
    );
  });
});

describe("lifecycle CLI", () => {
  let bin: string;
  beforeEach(() => {
    bin = fs.mkdtempSync(path.join(os.tmpdir(), "pulumi-stub-"));
    // The Pulumi stub records each call (with the variables the wrapper controls), takes a
    // second per command so parallel runs can be seen overlapping, and fails `up` for the
    // stacks listed in STUB_FAIL. The kind stub lists the clusters in STUB_CLUSTERS.
    fs.writeFileSync(
      path.join(bin, "pulumi"),
      pulumiStubScript(`stack=""; prev=""; for a in "$@"; do [ "$prev" = --stack ] && stack="$a"; prev="$a"; done
echo "$* | passphrase=\${PULUMI_CONFIG_PASSPHRASE:-} backend=\${PULUMI_BACKEND_URL:-} unreachable=\${PULUMI_K8S_DELETE_UNREACHABLE:-}" >> "${bin}/calls"
case "$1" in up|preview|destroy)
  trap 'echo "cancelled ($stack)"; exit 1' INT
  echo "start $stack $(date +%s%N)" >> "${bin}/times"
  echo "Updating ($stack)"; sleep \${STUB_SECONDS:-1} >/dev/null 2>&1 & wait $!
  echo "end $stack $(date +%s%N)" >> "${bin}/times"
  case " \${STUB_FAIL:-} " in *" $stack "*) echo "error: update failed" >&2; exit 3;; esac
  printf 'Resources:\\n    + 4 created\\n    4 changes. 1 unchanged\\n' ;;
esac`),
      { mode: 0o755 },
    );
    fs.writeFileSync(path.join(bin, "kind"), `#!/usr/bin/env bash\n[ "$1 $2" = "get clusters" ] && for c in \${STUB_CLUSTERS:-}; do echo "$c"; done\nexit 0\n`, { mode: 0o755 });
  });
  afterEach(() => fs.rmSync(bin, { recursive: true, force: true }));
  const calls = () => fs.readFileSync(path.join(bin, "calls"), "utf8").trim().split("\n");
  const env = (extra: NodeJS.ProcessEnv = {}) => ({
    PATH: `${bin}:${process.env.PATH}`,
    PULUMI_CONFIG_PASSPHRASE: "",
    PULUMI_CONFIG_PASSPHRASE_FILE: "",
    PULUMI_BACKEND_URL: "",
    ...extra,
  });
  const lifecycle = (args: string[], extra: NodeJS.ProcessEnv = {}) => runCli("infra/cli/pulumi.ts", args, { env: env(extra) });

  it("runs pulumi for the environment with the embedded defaults", () => {
    const result = lifecycle(["preview", "dev", "--no-preflight", "--diff"]);
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(calls(), [
      `stack select --create dev --secrets-provider passphrase | passphrase=${demoPassphrase} backend= unreachable=`,
      `preview --stack dev --diff | passphrase=${demoPassphrase} backend= unreachable=`,
    ]);
    assert.match(result.stderr, /gitops: state: local backend \.pulumi-state\//);
  });

  it("passes the user's passphrase and backend through untouched", () => {
    const team = path.join(bin, "team-state");
    fs.mkdirSync(team);
    const result = lifecycle(["up", "prod", "--no-preflight"], { PULUMI_CONFIG_PASSPHRASE: "s3cret", PULUMI_BACKEND_URL: `file://${team}` });
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(calls(), [
      `stack select --create prod | passphrase=s3cret backend=file://${team} unreachable=`,
      `up --stack prod | passphrase=s3cret backend=file://${team} unreachable=`,
    ]);
  });

  it("exits with pulumi's code when it fails", () => {
    assert.equal(lifecycle(["up", "dev", "--no-preflight"], { STUB_FAIL: "dev" }).status, 3);
  });

  it("names the environments for an unknown one, before running pulumi", () => {
    const result = lifecycle(["up", "staging"]);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /^gitops: no environment "staging": Pulumi\.staging\.yaml does not exist\nusage: npm run up -- <env>\|--all .*\(environments: dev, prod\)/);
    assert.equal(fs.existsSync(path.join(bin, "calls")), false);
  });

  it("stops at the preflight, before pulumi runs, when the machine is not ready", () => {
    // This machine has no Docker daemon and no kind (the kind stub is removed here).
    fs.rmSync(path.join(bin, "kind"));
    const result = runCli("infra/cli/pulumi.ts", ["up", "dev"], { env: env({ PATH: `${bin}:/usr/bin:/bin:${path.dirname(process.execPath)}` }) });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /FAIL {2}kind {5}kind is not installed/);
    assert.match(result.stderr, /gitops: fix the problems above first \(or pass --no-preflight to run anyway\)\n$/);
    assert.equal(fs.existsSync(path.join(bin, "calls")), false);
  });

  it("refuses secrets stored in a stack file under the public demo passphrase, before pulumi runs", () => {
    const copy = projectCopy({
      "Pulumi.dev.yaml": fs.readFileSync(path.join(projectRoot, "Pulumi.dev.yaml"), "utf8") + "  gitops:gitToken:\n    secure: v1:c2FsdA==:Y2lwaGVydGV4dA==\n",
    });
    try {
      const refused = runCli("infra/cli/pulumi.ts", ["up", "dev", "--no-preflight"], { cwd: copy.root, env: env() });
      assert.equal(refused.status, 2);
      assert.equal(
        refused.stderr.trim(),
        "gitops: Pulumi.dev.yaml stores gitToken encrypted with the demo passphrase, which is public: anyone with the repository can read it. " +
          "Set PULUMI_CONFIG_PASSPHRASE to your own and re-encrypt (pulumi stack change-secrets-provider --stack dev passphrase), " +
          "or remove it (pulumi config rm --stack dev <key>)",
      );
      assert.equal(fs.existsSync(path.join(bin, "calls")), false);
      const ownPassphrase = runCli("infra/cli/pulumi.ts", ["up", "dev", "--no-preflight"], { cwd: copy.root, env: env({ PULUMI_CONFIG_PASSPHRASE: "my own" }) });
      assert.equal(ownPassphrase.status, 0, ownPassphrase.stderr);
    } finally {
      copy.remove();
    }
  });

  describe("on a fresh clone", () => {
    // Both ways the README gives: the npm scripts, and the Pulumi CLI run by hand in the project.
    let clone: ReturnType<typeof projectCopy>;
    beforeEach(() => (clone = projectCopy()));
    afterEach(() => clone.remove());
    const pulumiByHand = (args: string[]) =>
      spawnSync(path.join(bin, "pulumi"), args, { cwd: clone.root, encoding: "utf8", env: { ...process.env, ...env() } });

    it("the Pulumi CLI by hand can create a stack: the state folder ships with the project", () => {
      const result = pulumiByHand(["stack", "select", "--create", "dev", "--secrets-provider", "passphrase"]);
      assert.equal(result.status, 0, result.stderr);
      assert.ok(fs.existsSync(path.join(clone.root, ".pulumi-state/.pulumi/stacks/gitops/dev.json")));
    });

    it("the stub fails as Pulumi does when the state folder is missing", () => {
      fs.rmSync(path.join(clone.root, ".pulumi-state"), { recursive: true });
      const result = pulumiByHand(["stack", "select", "--create", "dev"]);
      assert.equal(result.status, 255);
      assert.match(result.stderr, /^error: unable to open state directory "file:\/\/\.\/\.pulumi-state": open .*\/\.pulumi-state: no such file or directory$/m);
    });

    it("npm run up creates the state folder when it is missing, and runs Pulumi in the project", () => {
      fs.rmSync(path.join(clone.root, ".pulumi-state"), { recursive: true });
      const result = runCli("infra/cli/pulumi.ts", ["up", "dev", "--no-preflight"], { cwd: clone.root, env: env() });
      assert.equal(result.status, 0, result.stderr);
      assert.ok(fs.existsSync(path.join(clone.root, ".pulumi-state/.pulumi/stacks/gitops/dev.json")));
    });
  });

  it("says how to install Pulumi when the CLI is missing", () => {
    const result = runCli("infra/cli/pulumi.ts", ["preview", "dev", "--no-preflight"], { env: { PATH: path.dirname(process.execPath) } });
    assert.equal(result.status, 127);
    assert.equal(result.stderr.trim(), "gitops: the Pulumi CLI is not on PATH; install it: https://www.pulumi.com/docs/iac/download-install/");
  });

  describe("--all", () => {
    it("runs every environment at the same time, prefixed, then a summary; one failure leaves the other intact", () => {
      const result = lifecycle(["up", "--all", "--yes", "--no-preflight"], { STUB_FAIL: "prod" });
      assert.equal(result.status, 1);
      // Overlap, not just completion: each started before the other ended.
      const times = Object.fromEntries(
        fs.readFileSync(path.join(bin, "times"), "utf8").trim().split("\n").map((line) => {
          const [event, stack, at] = line.split(" ");
          return [`${event} ${stack}`, BigInt(at!)];
        }),
      );
      assert.ok(times["start dev"]! < times["end prod"]! && times["start prod"]! < times["end dev"]!, JSON.stringify(times, (_, v: unknown) => String(v)));
      assert.match(result.stdout, /^\[dev \] Updating \(dev\)$/m);
      assert.match(result.stdout, /^\[prod\] Updating \(prod\)$/m);
      assert.match(result.stdout, /^\[prod\] error: update failed$/m);
      assert.match(result.stdout, /^environment {2}result {11}duration {2}resources changed\ndev {10}ok {15}0m0\ds {5}4\nprod {9}failed \(exit 3\) {2}0m0\ds {5}-$/m);
      // Selected one after another, then run unattended.
      assert.deepEqual(calls().slice(0, 2).map((call) => call.split(" | ")[0]), [
        "stack select --create dev --secrets-provider passphrase",
        "stack select --create prod --secrets-provider passphrase",
      ]);
      assert.ok(calls().some((call) => call.startsWith("up --stack dev --yes --non-interactive |")));
    });

    it("stops cleanly on Ctrl-C: every Pulumi run is cancelled and reported, without waiting them out", async () => {
      // Like a terminal's Ctrl-C: SIGINT to the whole process group, once both runs have started.
      const child = spawn(process.execPath, ["--import", "tsx", path.join(projectRoot, "infra/cli/pulumi.ts"), "up", "--all", "--yes", "--no-preflight"], {
        cwd: projectRoot,
        env: { ...process.env, ...env({ STUB_SECONDS: "20" }) },
        detached: true,
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      // "close", not "exit": exit can come before the last output has been read.
      const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
      const started = Date.now();
      while (!/start dev[\s\S]*start prod|start prod[\s\S]*start dev/.test(fs.existsSync(path.join(bin, "times")) ? fs.readFileSync(path.join(bin, "times"), "utf8") : "")) {
        assert.ok(Date.now() - started < 30_000, `the runs never started:\n${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      process.kill(-child.pid!, "SIGINT");
      assert.equal(await exited, 1);
      assert.ok(Date.now() - started < 15_000, "it waited for the runs instead of stopping them");
      assert.match(stderr, /gitops: stopping; waiting for Pulumi to finish cleanly/);
      assert.match(stdout, /^\[dev \] cancelled \(dev\)$/m);
      assert.match(stdout, /^\[prod\] cancelled \(prod\)$/m);
      assert.match(stdout, /^dev {10}interrupted/m);
      assert.match(stdout, /^prod {9}interrupted/m);
    });

    it("previews every environment without asking", () => {
      const result = lifecycle(["preview", "--all", "--no-preflight"]);
      assert.equal(result.status, 0, result.stderr);
      assert.match(result.stdout, /^dev {10}ok/m);
      assert.match(result.stdout, /^prod {9}ok/m);
    });

    it("asks before destroying and refuses without --yes when nobody can answer", () => {
      const result = lifecycle(["destroy", "--all", "--no-preflight"]);
      assert.equal(result.status, 2);
      assert.equal(result.stderr.trim().split("\n").at(-1), "gitops: destroy --all needs --yes when not run from a terminal");
      assert.equal(fs.existsSync(path.join(bin, "times")), false);
    });

    it("destroys a stack whose kind cluster is already gone through the unreachable-refresh path", () => {
      const result = lifecycle(["destroy", "--all", "--yes", "--no-preflight"], { STUB_CLUSTERS: "gitops-dev" });
      assert.equal(result.status, 0, result.stderr);
      const prodCalls = calls().filter((call) => call.includes("--stack prod"));
      assert.deepEqual(prodCalls, [
        `refresh --stack prod --yes --non-interactive | passphrase=${demoPassphrase} backend= unreachable=true`,
        `destroy --stack prod --yes --non-interactive | passphrase=${demoPassphrase} backend= unreachable=true`,
      ]);
      assert.deepEqual(calls().filter((call) => call.includes("--stack dev")), [
        `destroy --stack dev --yes --non-interactive | passphrase=${demoPassphrase} backend= unreachable=`,
      ]);
      assert.match(result.stderr, /\[prod\] gitops: the kind cluster of prod is already gone: refreshing with PULUMI_K8S_DELETE_UNREACHABLE=true first/);
    });
  });
});
