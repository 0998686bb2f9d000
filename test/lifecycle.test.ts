// npm run up|preview|destroy -- <env>|--all (tools/lifecycle.ts), called in-process through
// main() on a fresh copy of the project, with the Pulumi CLI replaced by the stub of
// test/support/pulumiStub.ts (found on io.env's PATH for one environment; the Automation API's
// PulumiCommand for --all) and the machine faked. One test spawns the tool: Ctrl-C.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { PulumiCommand } from "@pulumi/pulumi/automation";
import type { Io } from "../tools/cli";
import { main } from "../tools/lifecycle";
import type { CommandResult, Machine } from "../tools/machine";
import { demoPassphrase } from "../tools/pulumiDefaults";
import { captureIo, projectCopy } from "./helpers";
import { createPulumiStub, type PulumiStub } from "./support/pulumiStub";

/** A machine with Pulumi, Docker, kind (which runs `clusters`) and kubectl, less the programs `missing` names. */
function machine(options: { clusters?: string[]; missing?: string[] } = {}): Machine {
  const programs: Record<string, string> = {
    "pulumi version": "v3.270.0\n",
    "docker info --format {{.ServerVersion}}": "28.2.2\n",
    "kind version": "kind v0.32.0 go1.24.4 linux/amd64\n",
    "kind get clusters": (options.clusters ?? []).map((name) => `${name}\n`).join(""),
    "kubectl version --client": "Client Version: v1.36.1\n",
  };
  return {
    platform: "linux",
    arch: "x64",
    nodeVersion: "v22.23.3",
    run: (command, args): Promise<CommandResult> => {
      if (options.missing?.includes(command)) return Promise.resolve({ found: false, exitCode: null, stdout: "" });
      const stdout = programs[[command, ...args].join(" ")];
      return Promise.resolve(stdout === undefined ? { found: true, exitCode: 1, stdout: "" } : { found: true, exitCode: 0, stdout });
    },
    readFile: () => Promise.resolve(undefined),
    listDirectory: () => Promise.resolve([]),
    portFree: () => Promise.resolve(true),
  };
}

const stateNotes =
  'gitops: state: local backend .pulumi-state/ (Pulumi.yaml); set PULUMI_BACKEND_URL to use another\ngitops: secrets: demo passphrase "gitops-demo"; set PULUMI_CONFIG_PASSPHRASE to use your own\n';
const usage = "usage: npm run up -- <env>|--all [--yes] [--no-preflight] [pulumi options]   (environments: dev, prod)";

/** The summary table at the end of stdout, with each duration written as XmXXs. */
const summary = (stdout: string) => stdout.slice(stdout.lastIndexOf("\n\n") + 2).replace(/\d+m\d\ds/g, "XmXXs");
/** Calls that run an operation (not stack selection or the summary's queries), with the event-log port as PORT. */
const operations = (calls: readonly string[]) =>
  calls
    .filter((call) => /^(up|preview|refresh|destroy) /.test(call))
    .map((call) => call.replace(/tcp:\/\/127\.0\.0\.1:\d+/, "tcp://127.0.0.1:PORT"));

async function until(condition: () => boolean, what: string): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    assert.ok(Date.now() - started < 30_000, `${what} never happened`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** What each test gets: its own Pulumi stub and project copy, so the tests can run at the same time. */
interface Fixture {
  readonly stub: PulumiStub;
  readonly project: { root: string; remove(): void };
  /** The stub's record of a stack in a state folder (the project's by default). */
  readonly stackFile: (stack: string, state?: string) => string;
  /** Runs the tool in-process against the stub and the project copy. */
  readonly lifecycle: (
    argv: string[],
    options?: { env?: NodeJS.ProcessEnv; machine?: Machine; confirm?: Io["confirm"] },
  ) => Promise<{ code: number; stdout: string; stderr: string }>;
}

function withFixture(test: (fixture: Fixture) => Promise<void> | void): () => Promise<void> {
  return async () => {
    const stub = createPulumiStub();
    const project = projectCopy();
    try {
      await test({
        stub,
        project,
        stackFile: (stack, state = path.join(project.root, ".pulumi-state")) => path.join(state, ".pulumi/stacks/gitops", `${stack}.json`),
        lifecycle: async (argv, options = {}) => {
          const io = captureIo({ root: project.root, env: stub.env(options.env), confirm: options.confirm });
          const code = await main(argv, io, {
            machine: options.machine ?? machine(),
            pulumiCommand: () => PulumiCommand.get({ root: stub.root, skipVersionCheck: true }),
          });
          return { code, stdout: io.out(), stderr: io.err() };
        },
      });
    } finally {
      stub.remove();
      project.remove();
    }
  };
}

// The tests wait on Pulumi stubs, not on the CPU: they run at the same time.
describe("npm run up|preview|destroy", { concurrency: true }, () => {
  describe("one environment: the Pulumi CLI itself, in the project folder", () => {
    it(
      "selects or creates the stack, then runs the command with the Pulumi options given, on the project's state folder under the demo passphrase",
      withFixture(async ({ stub, lifecycle, stackFile }) => {
        const result = await lifecycle(["preview", "dev", "--no-preflight", "--diff"]);
        assert.equal(result.code, 0, result.stderr);
        assert.deepEqual(stub.calls(), [
          `stack select --create dev --secrets-provider passphrase | passphrase=${demoPassphrase} backend= unreachable=`,
          `preview --stack dev --diff | passphrase=${demoPassphrase} backend= unreachable=`,
        ]);
        assert.equal(result.stderr, stateNotes);
        assert.ok(fs.existsSync(stackFile("dev")));
      }),
    );

    it(
      "uses the demo passphrase only when the user sets none (neither a passphrase nor a passphrase file)",
      withFixture(async ({ stub, lifecycle }) => {
        const own = await lifecycle(["preview", "dev", "--no-preflight"], { env: { PULUMI_CONFIG_PASSPHRASE: "mine" } });
        assert.equal(own.code, 0, own.stderr);
        const passphraseFile = path.join(stub.root, "passphrase");
        fs.writeFileSync(passphraseFile, "from a file\n");
        const fromFile = await lifecycle(["preview", "prod", "--no-preflight"], { env: { PULUMI_CONFIG_PASSPHRASE_FILE: passphraseFile } });
        assert.equal(fromFile.code, 0, fromFile.stderr);
        assert.deepEqual(stub.calls(), [
          "stack select --create dev --secrets-provider passphrase | passphrase=mine backend= unreachable=",
          "preview --stack dev | passphrase=mine backend= unreachable=",
          "stack select --create prod --secrets-provider passphrase | passphrase= backend= unreachable=",
          "preview --stack prod | passphrase= backend= unreachable=",
        ]);
        assert.equal(own.stderr, "gitops: state: local backend .pulumi-state/ (Pulumi.yaml); set PULUMI_BACKEND_URL to use another\n");
      }),
    );

    it(
      "leaves a backend chosen with PULUMI_BACKEND_URL, and its secrets provider and passphrase, to the user; the project's state folder is not created",
      withFixture(async ({ stub, project, lifecycle, stackFile }) => {
        fs.rmSync(path.join(project.root, ".pulumi-state"), { recursive: true });
        const team = path.join(stub.root, "team-state");
        fs.mkdirSync(team);
        const result = await lifecycle(["up", "prod", "--no-preflight", "--yes"], {
          env: { PULUMI_BACKEND_URL: `file://${team}`, PULUMI_CONFIG_PASSPHRASE: "s3cret" },
        });
        assert.equal(result.code, 0, result.stderr);
        assert.deepEqual(stub.calls().slice(0, 2), [
          `stack select --create prod | passphrase=s3cret backend=file://${team} unreachable=`,
          `up --stack prod --yes --non-interactive | passphrase=s3cret backend=file://${team} unreachable=`,
        ]);
        assert.equal(result.stderr, `gitops: state: file://${team} (PULUMI_BACKEND_URL)\n`);
        assert.ok(fs.existsSync(stackFile("prod", team)));
        assert.equal(fs.existsSync(path.join(project.root, ".pulumi-state")), false);
      }),
    );

    it(
      "with --yes runs unattended, except preview, which never prompts",
      withFixture(async ({ stub, lifecycle }) => {
        assert.equal((await lifecycle(["up", "dev", "--no-preflight", "--yes"])).code, 0);
        assert.equal((await lifecycle(["preview", "dev", "--no-preflight", "--yes"])).code, 0);
        assert.deepEqual(operations(stub.calls()), [
          `up --stack dev --yes --non-interactive | passphrase=${demoPassphrase} backend= unreachable=`,
          `preview --stack dev | passphrase=${demoPassphrase} backend= unreachable=`,
        ]);
      }),
    );

    it(
      "exits with Pulumi's own exit code when Pulumi fails",
      withFixture(async ({ lifecycle }) => {
        // Pulumi exits 7 when --expect-no-changes meets changes (a new stack has all to create).
        assert.equal((await lifecycle(["preview", "dev", "--no-preflight", "--expect-no-changes"])).code, 7);
        // Without --yes and without a terminal, Pulumi itself refuses to update: 2.
        assert.equal((await lifecycle(["up", "dev", "--no-preflight"])).code, 2);
      }),
    );

    it(
      "does not run the command when the stack cannot be selected",
      withFixture(async ({ stub, lifecycle }) => {
        const missing = path.join(stub.root, "no-such-state");
        const result = await lifecycle(["up", "dev", "--no-preflight", "--yes"], {
          env: { PULUMI_BACKEND_URL: `file://${missing}`, PULUMI_CONFIG_PASSPHRASE: "s3cret" },
        });
        assert.equal(result.code, 1);
        assert.deepEqual(
          stub.calls().map((call) => call.split(" | ")[0]),
          ["stack select --create dev"],
        );
      }),
    );

    it(
      "destroys a stack whose kind cluster is already gone by refreshing first with PULUMI_K8S_DELETE_UNREACHABLE, which drops what was in it",
      withFixture(async ({ stub, lifecycle }) => {
        const result = await lifecycle(["destroy", "dev", "--no-preflight", "--yes"], { machine: machine({ clusters: ["gitops-prod"] }) });
        assert.equal(result.code, 0, result.stderr);
        assert.deepEqual(stub.calls().slice(1), [
          `refresh --stack dev --yes --non-interactive | passphrase=${demoPassphrase} backend= unreachable=true`,
          `destroy --stack dev --yes --non-interactive | passphrase=${demoPassphrase} backend= unreachable=true`,
        ]);
        assert.equal(
          result.stderr,
          `${stateNotes}gitops: the kind cluster of dev is already gone: refreshing with PULUMI_K8S_DELETE_UNREACHABLE=true first\n`,
        );
      }),
    );

    it(
      "destroys straight away when the kind cluster still runs, or when kind cannot tell",
      withFixture(async ({ stub, lifecycle }) => {
        assert.equal(
          (await lifecycle(["destroy", "dev", "--no-preflight", "--yes"], { machine: machine({ clusters: ["gitops-dev"] }) })).code,
          0,
        );
        assert.equal((await lifecycle(["destroy", "dev", "--no-preflight", "--yes"], { machine: machine({ missing: ["kind"] }) })).code, 0);
        assert.deepEqual(operations(stub.calls()), [
          `destroy --stack dev --yes --non-interactive | passphrase=${demoPassphrase} backend= unreachable=`,
          `destroy --stack dev --yes --non-interactive | passphrase=${demoPassphrase} backend= unreachable=`,
        ]);
      }),
    );
  });

  describe("refusals, before Pulumi runs", () => {
    it(
      "names the environments for an unknown one, with the usage, and exits 2",
      withFixture(async ({ stub, lifecycle }) => {
        const result = await lifecycle(["up", "staging"]);
        assert.equal(result.code, 2);
        assert.equal(result.stderr, `gitops: no environment "staging": Pulumi.staging.yaml does not exist\n${usage}\n`);
        assert.deepEqual(stub.calls(), []);
      }),
    );

    it(
      "prints the usage for neither an environment nor --all, and exits 2",
      withFixture(async ({ stub, lifecycle }) => {
        const result = await lifecycle(["up", "--yes"]);
        assert.equal(result.code, 2);
        assert.equal(result.stderr, `${usage}\n`);
        assert.deepEqual(stub.calls(), []);
      }),
    );

    it(
      "prints the usage on stdout for --help, and exits 0",
      withFixture(async ({ stub, lifecycle }) => {
        const result = await lifecycle(["up", "--help"]);
        assert.equal(result.code, 0);
        assert.equal(result.stdout, `${usage}\n`);
        assert.equal(result.stderr, "");
        assert.deepEqual(stub.calls(), []);
      }),
    );

    it(
      "stops at the preflight when the machine is not ready",
      withFixture(async ({ stub, lifecycle }) => {
        const result = await lifecycle(["up", "dev", "--yes"], { machine: machine({ missing: ["docker", "kind"] }) });
        assert.equal(result.code, 1);
        assert.match(result.stderr, /^FAIL {2}docker {3}Docker is not installed — https:\/\/docs\.docker\.com\/get-docker\/$/m);
        assert.match(result.stderr, /^FAIL {2}kind {5}kind is not installed — https:\/\/kind\.sigs\.k8s\.io\//m);
        assert.match(
          result.stderr,
          /^preflight for dev: 2 problems \(\d+\.\ds\)\ngitops: fix the problems above first \(or pass --no-preflight to run anyway\)\n$/m,
        );
        assert.deepEqual(stub.calls(), []);
      }),
    );

    it(
      "refuses secrets stored in a stack file under the public demo passphrase, and runs with the user's own",
      withFixture(async ({ stub, project, lifecycle }) => {
        fs.appendFileSync(path.join(project.root, "Pulumi.dev.yaml"), "  gitops:gitToken:\n    secure: v1:c2FsdA==:Y2lwaGVydGV4dA==\n");
        const refused = await lifecycle(["up", "dev", "--no-preflight", "--yes"]);
        assert.equal(refused.code, 2);
        assert.equal(
          refused.stderr,
          "gitops: Pulumi.dev.yaml stores gitToken encrypted with the demo passphrase, which is public: anyone with the repository can read it. " +
            "Set PULUMI_CONFIG_PASSPHRASE to your own and re-encrypt (pulumi stack change-secrets-provider --stack dev passphrase), " +
            "or remove it (pulumi config rm --stack dev <key>)\n",
        );
        assert.deepEqual(stub.calls(), []);
        const ownPassphrase = await lifecycle(["up", "dev", "--no-preflight", "--yes"], { env: { PULUMI_CONFIG_PASSPHRASE: "my own" } });
        assert.equal(ownPassphrase.code, 0, ownPassphrase.stderr);
      }),
    );

    it(
      "says how to install Pulumi when the CLI is missing, and exits 127",
      withFixture(async ({ stub, lifecycle }) => {
        const result = await lifecycle(["preview", "dev", "--no-preflight"], { machine: machine({ missing: ["pulumi"] }) });
        assert.equal(result.code, 127);
        assert.equal(
          result.stderr,
          "gitops: the Pulumi CLI is not on PATH; install it: https://www.pulumi.com/docs/iac/download-install/\n",
        );
        assert.deepEqual(stub.calls(), []);
      }),
    );
  });

  describe("on a fresh clone", () => {
    // Both ways the README gives: the npm scripts, and the Pulumi CLI run by hand in the project.
    const pulumiByHand = ({ stub, project }: Pick<Fixture, "stub" | "project">, args: string[]) =>
      spawnSync(path.join(stub.bin, "pulumi"), args, {
        cwd: project.root,
        encoding: "utf8",
        env: stub.env({ PULUMI_CONFIG_PASSPHRASE: demoPassphrase }),
      });

    it(
      "the Pulumi CLI run by hand creates a stack: the state folder ships with the project",
      withFixture(({ stub, project, stackFile }) => {
        const result = pulumiByHand({ stub, project }, ["stack", "select", "--create", "dev", "--secrets-provider", "passphrase"]);
        assert.equal(result.status, 0, result.stderr);
        assert.ok(fs.existsSync(stackFile("dev")));
      }),
    );

    it(
      "the Pulumi CLI (the stub, as the real one) fails without the state folder: it never creates it",
      withFixture(({ stub, project }) => {
        fs.rmSync(path.join(project.root, ".pulumi-state"), { recursive: true });
        const result = pulumiByHand({ stub, project }, ["stack", "select", "--create", "dev"]);
        assert.equal(result.status, 1);
        const state = path.join(fs.realpathSync(project.root), ".pulumi-state");
        assert.equal(
          result.stderr,
          `error: unable to open state directory "file://./.pulumi-state" (resolved to "file://${state}"): stat ${state}: no such file or directory\n`,
        );
      }),
    );

    it(
      "npm run up creates the missing state folder, then Pulumi runs in the project",
      withFixture(async ({ project, lifecycle, stackFile }) => {
        fs.rmSync(path.join(project.root, ".pulumi-state"), { recursive: true });
        const result = await lifecycle(["up", "dev", "--no-preflight", "--yes"]);
        assert.equal(result.code, 0, result.stderr);
        assert.ok(fs.existsSync(stackFile("dev")));
      }),
    );
  });

  describe("--all: every environment at once through the Automation API", () => {
    it(
      "selects the stacks one after another, then runs them at the same time, each line behind its name; one failure leaves the other's result",
      withFixture(async ({ stub, lifecycle }) => {
        const result = await lifecycle(["up", "--all", "--yes", "--no-preflight"], { env: { STUB_FAIL: "prod", STUB_SECONDS: "0.5" } });
        assert.equal(result.code, 1);
        assert.deepEqual(stub.calls().slice(0, 4), [
          `stack select --stack dev --non-interactive | passphrase=${demoPassphrase} backend= unreachable=`,
          `stack init dev --secrets-provider passphrase --non-interactive | passphrase=${demoPassphrase} backend= unreachable=`,
          `stack select --stack prod --non-interactive | passphrase=${demoPassphrase} backend= unreachable=`,
          `stack init prod --secrets-provider passphrase --non-interactive | passphrase=${demoPassphrase} backend= unreachable=`,
        ]);
        // Overlap, not just completion: each started before the other ended.
        const at = (event: string) =>
          Number(
            stub
              .times()
              .find((line) => line.startsWith(`${event} up `))
              ?.split(" ")[3],
          );
        assert.ok(at("start dev") < at("end prod") && at("start prod") < at("end dev"), stub.times().join("\n"));
        assert.deepEqual(operations(stub.calls()).sort(), [
          `up --yes --skip-preview --exec-kind auto.local --stack dev --non-interactive | passphrase=${demoPassphrase} backend= unreachable=`,
          `up --yes --skip-preview --exec-kind auto.local --stack prod --non-interactive | passphrase=${demoPassphrase} backend= unreachable=`,
        ]);
        assert.match(result.stdout, /^\[dev \] Updating \(dev\):$/m);
        assert.match(result.stdout, /^\[prod\] Updating \(prod\):$/m);
        assert.match(result.stdout, /^\[prod\] {5}error: update failed$/m);
        // The count is Pulumi's own (the update's resourceChanges in its history): 5 created.
        assert.equal(
          summary(result.stdout),
          [
            "environment  result           duration  resources changed",
            "dev          ok               XmXXs     5",
            "prod         failed (exit 1)  XmXXs     -",
            "",
          ].join("\n"),
        );
        assert.equal(result.stderr, stateNotes);
      }),
    );

    it(
      "previews every environment without asking; the counts are Pulumi's own change summaries",
      withFixture(async ({ lifecycle }) => {
        assert.equal((await lifecycle(["up", "dev", "--no-preflight", "--yes"])).code, 0);
        const result = await lifecycle(["preview", "--all", "--no-preflight"], {
          confirm: () => assert.fail("preview asked for a confirmation"),
        });
        assert.equal(result.code, 0, result.stderr);
        // dev is up already: nothing to change; prod is new: 5 to create.
        assert.equal(
          summary(result.stdout),
          [
            "environment  result  duration  resources changed",
            "dev          ok      XmXXs     0",
            "prod         ok      XmXXs     5",
            "",
          ].join("\n"),
        );
      }),
    );

    it(
      "asks once before updating, naming the environments, and does nothing on no",
      withFixture(async ({ stub, lifecycle }) => {
        const questions: string[] = [];
        const result = await lifecycle(["up", "--all", "--no-preflight"], {
          confirm: (question) => (questions.push(question), Promise.resolve(false)),
        });
        assert.equal(result.code, 1);
        assert.deepEqual(questions, ["Update: dev, prod?"]);
        assert.equal(result.stderr, "gitops: nothing done\n");
        assert.deepEqual(stub.calls(), []);
      }),
    );

    it(
      "refuses destroy --all without --yes when nobody can answer, and exits 2",
      withFixture(async ({ stub, lifecycle }) => {
        const result = await lifecycle(["destroy", "--all", "--no-preflight"]);
        assert.equal(result.code, 2);
        assert.equal(result.stderr, "gitops: destroy --all needs --yes when not run from a terminal\n");
        assert.deepEqual(stub.calls(), []);
      }),
    );

    it(
      "destroys once the user says yes; a stack whose kind cluster is already gone through the unreachable-refresh path, the other directly",
      withFixture(async ({ stub, lifecycle }) => {
        const questions: string[] = [];
        const confirm = (question: string) => (questions.push(question), Promise.resolve(true));
        const result = await lifecycle(["destroy", "--all", "--no-preflight"], { machine: machine({ clusters: ["gitops-dev"] }), confirm });
        assert.equal(result.code, 0, result.stderr);
        assert.deepEqual(questions, ["Destroy (deletes the kind clusters and everything in them): dev, prod?"]);
        assert.deepEqual(
          operations(stub.calls()).filter((call) => call.includes("--stack prod")),
          [
            `refresh --skip-preview --yes --exec-kind auto.local --stack prod --non-interactive | passphrase=${demoPassphrase} backend= unreachable=true`,
            `destroy --yes --skip-preview --exec-kind auto.local --stack prod --non-interactive | passphrase=${demoPassphrase} backend= unreachable=true`,
          ],
        );
        assert.deepEqual(
          operations(stub.calls()).filter((call) => call.includes("--stack dev")),
          [
            `destroy --yes --skip-preview --exec-kind auto.local --stack dev --non-interactive | passphrase=${demoPassphrase} backend= unreachable=`,
          ],
        );
        assert.equal(
          result.stderr,
          `${stateNotes}[prod] gitops: the kind cluster of prod is already gone: refreshing with PULUMI_K8S_DELETE_UNREACHABLE=true first\n`,
        );
      }),
    );

    it(
      "passes --diff, --refresh, --target, --parallel and --expect-no-changes on as the Automation API's options",
      withFixture(async ({ stub, lifecycle }) => {
        const result = await lifecycle([
          "preview",
          "--all",
          "--no-preflight",
          "--diff",
          "--refresh",
          "--target",
          "urn:a",
          "-t",
          "urn:b",
          "--parallel=4",
          "--expect-no-changes",
        ]);
        assert.deepEqual(
          operations(stub.calls()).filter((call) => call.includes("--stack dev")),
          [
            `preview --expect-no-changes --refresh --diff --target urn:a --target urn:b --parallel 4 --exec-kind auto.local --event-log tcp://127.0.0.1:PORT --stack dev --non-interactive | passphrase=${demoPassphrase} backend= unreachable=`,
          ],
        );
        // Both have changes to propose, which Pulumi refuses under --expect-no-changes with its exit code 7.
        assert.equal(result.code, 1);
        assert.match(summary(result.stdout), /^dev {10}failed \(exit 7\) {2}XmXXs {5}-\nprod {9}failed \(exit 7\) {2}XmXXs {5}-\n$/m);
      }),
    );

    it(
      "reports a stack that cannot be selected failed, with Pulumi's own error behind its name",
      withFixture(async ({ stub, lifecycle }) => {
        const missing = path.join(stub.root, "no-such-state");
        const result = await lifecycle(["up", "--all", "--yes", "--no-preflight"], {
          env: { PULUMI_BACKEND_URL: `file://${missing}`, PULUMI_CONFIG_PASSPHRASE: "s3cret" },
        });
        assert.equal(result.code, 1);
        const error = `error: unable to open state directory "file://${missing}": stat ${missing}: no such file or directory`;
        assert.equal(
          result.stderr,
          `gitops: state: file://${missing} (PULUMI_BACKEND_URL)\n` +
            `[dev ] gitops: could not select or create stack dev:\n[dev ] ${error}\n` +
            `[prod] gitops: could not select or create stack prod:\n[prod] ${error}\n`,
        );
        assert.deepEqual(operations(stub.calls()), []);
        assert.match(summary(result.stdout), /^dev {10}failed \(exit 1\) {2}XmXXs {5}-\nprod {9}failed \(exit 1\) {2}XmXXs {5}-\n$/m);
      }),
    );

    it(
      "refuses a Pulumi option it cannot pass on, naming it, before anything runs",
      withFixture(async ({ stub, lifecycle }) => {
        const result = await lifecycle(["up", "--all", "--yes", "--no-preflight", "--policy-pack", "policies/"]);
        assert.equal(result.code, 2);
        assert.equal(
          result.stderr,
          "gitops: --policy-pack is not passed on with --all (it takes --diff, --refresh, --target, --parallel, --expect-no-changes); run one environment for other Pulumi options\n",
        );
        assert.deepEqual(stub.calls(), []);
      }),
    );

    it(
      "reports an environment with invalid settings failed and runs the others",
      withFixture(async ({ stub, project, lifecycle }) => {
        const prodFile = path.join(project.root, "Pulumi.prod.yaml");
        fs.writeFileSync(prodFile, fs.readFileSync(prodFile, "utf8").replace("replicas: 5", "replicas: many"));
        const result = await lifecycle(["up", "--all", "--yes", "--no-preflight"]);
        assert.equal(result.code, 1);
        assert.match(result.stderr, /^gitops: Invalid configuration for stack "prod".*\n.*gitops:server\.replicas/m);
        assert.deepEqual(
          operations(stub.calls()).map((call) => call.split(" | ")[0]),
          ["up --yes --skip-preview --exec-kind auto.local --stack dev --non-interactive"],
        );
        assert.match(summary(result.stdout), /^dev {10}ok {15}XmXXs {5}5\nprod {9}failed \(exit 1\) {2}XmXXs {5}-\n$/m);
      }),
    );

    /**
     * Runs `up --all` as its own process (signals are per process), sends `signal` once both
     * Pulumi runs are under way, to the whole process group (a terminal's Ctrl-C) or to the tool
     * alone (a CI cancel), and returns what it printed and which signals the Pulumi runs got.
     */
    async function interrupted({ stub, project }: Pick<Fixture, "stub" | "project">, signal: "SIGINT" | "SIGTERM", toGroup: boolean) {
      const child = spawn(
        process.execPath,
        ["--import", "tsx", path.join(project.root, "tools/lifecycle.ts"), "up", "--all", "--yes", "--no-preflight"],
        {
          cwd: project.root,
          env: stub.env({ STUB_SECONDS: "30" }),
          detached: true,
        },
      );
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      // "close", not "exit": exit can come before the last output has been read.
      const closed = new Promise<number | null>((resolve) => child.on("close", resolve));
      const running = () => child.exitCode === null && child.signalCode === null;
      let code: number | null;
      try {
        await until(() => stub.times().filter((line) => line.startsWith("start ")).length === 2 || !running(), "both runs starting");
        assert.ok(running(), `the tool ended before both runs started:\n${stderr}`);
        process.kill(toGroup ? -child.pid! : child.pid!, signal);
        code = await closed;
      } finally {
        if (running()) process.kill(-child.pid!, "SIGKILL");
      }
      const signals = stub
        .times()
        .filter((line) => /^SIG/.test(line))
        .map((line) => line.split(" ").slice(0, 2).join(" "))
        .sort();
      return { code, stdout, stderr, signals };
    }

    it(
      "on SIGTERM (a CI cancel, to the tool only) stops each Pulumi run with exactly one SIGINT, and reports them interrupted",
      withFixture(async ({ project, stub }) => {
        const result = await interrupted({ stub, project }, "SIGTERM", false);
        assert.equal(result.code, 1, result.stderr);
        assert.deepEqual(result.signals, ["SIGINT dev", "SIGINT prod"]);
        assert.match(result.stderr, /^gitops: asked to stop; stopping each Pulumi run cleanly$/m);
        assert.match(result.stdout, /^\[dev \] \^C received; cancelling\. If you would like to terminate immediately, press \^C again\.$/m);
        assert.match(summary(result.stdout), /^dev {10}interrupted {2}XmXXs {5}-\nprod {9}interrupted {2}XmXXs {5}-\n$/m);
      }),
    );

    it(
      "on Ctrl-C stops every Pulumi run cleanly (each gets the terminal's one SIGINT, none a second), reports them interrupted, and does not wait them out",
      withFixture(async ({ project, stub }) => {
        const result = await interrupted({ stub, project }, "SIGINT", true);
        assert.equal(result.code, 1, result.stderr);
        // Cancelled, not waited out: a run left alone for its 30s would have succeeded.
        assert.match(result.stdout, /^\[dev \]\s+error: update canceled$/m);
        assert.match(result.stdout, /^\[prod\]\s+error: update canceled$/m);
        assert.deepEqual(result.signals, ["SIGINT dev", "SIGINT prod"]);
        assert.match(result.stderr, /^gitops: stopping; waiting for Pulumi to finish cleanly \(Ctrl-C again forces it\)$/m);
        assert.match(result.stdout, /^\[dev \] \^C received; cancelling\. If you would like to terminate immediately, press \^C again\.$/m);
        assert.match(result.stdout, /^\[prod\] \^C received; cancelling\. If you would like to terminate immediately, press \^C again\.$/m);
        assert.doesNotMatch(result.stdout, /received; terminating/);
        assert.match(summary(result.stdout), /^dev {10}interrupted {2}XmXXs {5}-\nprod {9}interrupted {2}XmXXs {5}-\n$/m);
      }),
    );
  });
});
