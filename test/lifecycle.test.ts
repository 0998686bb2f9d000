// npm run up|preview|destroy -- <env> (tools/lifecycle.ts) for one environment, called in-process
// on a fresh copy of the project with the Pulumi CLI replaced by test/support/pulumiStub.ts.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { demoPassphrase } from "../tools/pulumiDefaults.ts";
import { machine, operations, stateNotes, usage, withFixture, type Fixture } from "./support/lifecycle.ts";

describe("npm run up|preview|destroy", { concurrency: true }, () => {
  describe("one environment: the Pulumi CLI itself, in the project folder", () => {
    it(
      "selects or creates the stack, then runs the command with the Pulumi options given, on the project's state folder under the demo passphrase",
      withFixture(async ({ stub, lifecycle, stackFile }) => {
        const result = await lifecycle(["preview", "dev", "--no-preflight", "--diff"]);
        assert.equal(result.code, 0, result.stderr);
        assert.deepEqual(stub.calls(), [
          `stack select --create dev --secrets-provider passphrase | passphrase=${demoPassphrase} backend= unreachable=`,
          `stack export --stack dev | passphrase=${demoPassphrase} backend= unreachable=`,
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
          "stack export --stack dev | passphrase=mine backend= unreachable=",
          "preview --stack dev | passphrase=mine backend= unreachable=",
          "stack select --create prod --secrets-provider passphrase | passphrase= backend= unreachable=",
          "stack export --stack prod | passphrase= backend= unreachable=",
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
        assert.deepEqual(stub.calls().slice(0, 3), [
          `stack select --create prod | passphrase=s3cret backend=file://${team} unreachable=`,
          `stack export --stack prod | passphrase=s3cret backend=file://${team} unreachable=`,
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
        assert.equal((await lifecycle(["up", "dev", "--no-preflight", "--yes"])).code, 0);
        const before = stub.calls().length;
        const result = await lifecycle(["destroy", "dev", "--no-preflight", "--yes"], { machine: machine({ clusters: ["gitops-prod"] }) });
        assert.equal(result.code, 0, result.stderr);
        assert.deepEqual(stub.calls().slice(before + 1), [
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
        assert.equal((await lifecycle(["up", "dev", "--no-preflight", "--yes"])).code, 0);
        assert.equal(
          (await lifecycle(["destroy", "dev", "--no-preflight", "--yes"], { machine: machine({ clusters: ["gitops-dev"] }) })).code,
          0,
        );
        assert.equal((await lifecycle(["destroy", "dev", "--no-preflight", "--yes"], { machine: machine({ missing: ["kind"] }) })).code, 0);
        assert.deepEqual(operations(stub.calls()).slice(1), [
          `destroy --stack dev --yes --non-interactive | passphrase=${demoPassphrase} backend= unreachable=`,
          `destroy --stack dev --yes --non-interactive | passphrase=${demoPassphrase} backend= unreachable=`,
        ]);
      }),
    );

    it(
      "a stack never created: nothing to destroy (exit 0), and no stack made for it; a kind cluster that runs without one is named",
      withFixture(async ({ stub, lifecycle, stackFile }) => {
        const result = await lifecycle(["destroy", "dev", "--no-preflight", "--yes"], { machine: machine({ clusters: ["gitops-dev"] }) });
        assert.equal(result.code, 0, result.stderr);
        assert.equal(
          result.stderr,
          `${stateNotes}gitops: dev has no stack: nothing to destroy\n` +
            "gitops: the kind cluster gitops-dev runs without it: kind delete cluster --name gitops-dev removes it\n",
        );
        assert.deepEqual(
          stub.calls().map((call) => call.split(" | ")[0]),
          ["stack select dev"],
        );
        assert.equal(fs.existsSync(stackFile("dev")), false);
      }),
    );
  });

  describe("refusals, before Pulumi runs", () => {
    it(
      "names the environments for an unknown one, with the usage, and exits 2",
      withFixture(async ({ stub, lifecycle }) => {
        const result = await lifecycle(["up", "staging"]);
        assert.equal(result.code, 2);
        assert.equal(
          result.stderr,
          `gitops: no environment "staging": Pulumi.staging.yaml does not exist (environments: dev, prod)\n${usage}\n`,
        );
        assert.deepEqual(stub.calls(), []);
      }),
    );

    it(
      "prints the usage for neither an environment nor --all, and exits 2",
      withFixture(async ({ stub, lifecycle }) => {
        const result = await lifecycle(["up", "--yes"]);
        assert.equal(result.code, 2);
        assert.equal(result.stderr, `gitops: which environment? (or --all for every one)\n${usage}\n`);
        assert.deepEqual(stub.calls(), []);
      }),
    );

    it(
      "prints the usage on stdout for --help, and exits 0",
      withFixture(async ({ stub, lifecycle }) => {
        const result = await lifecycle(["up", "--help"]);
        assert.equal(result.code, 0);
        assert.ok(result.stdout.startsWith(`${usage}\n\nCreates or updates`), result.stdout);
        assert.equal(result.stderr, "");
        assert.deepEqual(stub.calls(), []);
      }),
    );

    it(
      "stops at the preflight when the machine is not ready, saying what still works",
      withFixture(async ({ stub, lifecycle }) => {
        const result = await lifecycle(["up", "dev", "--yes"], { machine: machine({ missing: ["docker", "kind"] }) });
        assert.equal(result.code, 1);
        assert.match(result.stderr, /^FAIL {2}docker {3}Docker is not installed — https:\/\/docs\.docker\.com\/get-docker\/$/m);
        assert.match(result.stderr, /^FAIL {2}kind {5}kind is not installed — https:\/\/kind\.sigs\.k8s\.io\//m);
        assert.match(result.stderr, /^gitops: without Docker and kind, npm run render -- <env> still works/m);
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
  });

  describe("warnings", () => {
    it(
      "leaves the settings' warnings to the program, which Pulumi shows once among its diagnostics (no second copy with another prefix)",
      withFixture(async ({ project, lifecycle }) => {
        const stackFile = path.join(project.root, "Pulumi.dev.yaml");
        fs.writeFileSync(stackFile, fs.readFileSync(stackFile, "utf8").replace("image: gitops-dev-registry:5000/", "image: "));
        const result = await lifecycle(["preview", "dev", "--no-preflight"]);
        assert.equal(result.code, 0, result.stderr);
        assert.doesNotMatch(result.stderr, /warning/);
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
      "npm run up creates the missing state folder, then Pulumi runs in the project",
      withFixture(async ({ project, lifecycle, stackFile }) => {
        fs.rmSync(path.join(project.root, ".pulumi-state"), { recursive: true });
        const result = await lifecycle(["up", "dev", "--no-preflight", "--yes"]);
        assert.equal(result.code, 0, result.stderr);
        assert.ok(fs.existsSync(stackFile("dev")));
      }),
    );
  });
});
