// npm run up|preview|destroy -- --all (tools/lifecycle.ts, tools/runAll.ts): every environment at
// once through the Automation API, against the Pulumi stub. Stopped by a signal or Ctrl-C:
// lifecycleSignals.test.ts.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { demoPassphrase } from "../tools/pulumiDefaults.ts";
import { machine, operations, stateNotes, summary, withFixture } from "./support/lifecycle.ts";

describe("npm run up|preview|destroy -- --all", { concurrency: true }, () => {
  describe("--all: every environment at once through the Automation API", () => {
    it(
      "selects the stacks one after another, then runs them at the same time, each line behind its name; one failure leaves the other's result",
      withFixture(async ({ stub, lifecycle }) => {
        const result = await lifecycle(["up", "--all", "--yes", "--no-preflight"], { env: { STUB_FAIL: "prod", STUB_BARRIER: "2" } });
        assert.equal(result.code, 1);
        assert.deepEqual(stub.calls().slice(0, 4), [
          `stack select --stack dev --non-interactive | passphrase=${demoPassphrase} backend= unreachable=`,
          `stack init dev --secrets-provider passphrase --non-interactive | passphrase=${demoPassphrase} backend= unreachable=`,
          `stack select --stack prod --non-interactive | passphrase=${demoPassphrase} backend= unreachable=`,
          `stack init prod --secrets-provider passphrase --non-interactive | passphrase=${demoPassphrase} backend= unreachable=`,
        ]);
        // Overlap, not just completion: each started before the other ended (each stub waits
        // for both to have started, which only runs at the same time can do).
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
        assert.equal((await lifecycle(["up", "--all", "--no-preflight", "--yes"])).code, 0);
        const result = await lifecycle(["destroy", "--all", "--no-preflight"], { machine: machine({ clusters: ["gitops-dev"] }), confirm });
        assert.equal(result.code, 0, result.stderr);
        assert.deepEqual(questions, ["Destroy (deletes the kind clusters and everything in them): dev, prod?"]);
        assert.deepEqual(
          operations(stub.calls()).filter((call) => call.includes("--stack prod") && !call.startsWith("up ")),
          [
            `refresh --skip-preview --yes --exec-kind auto.local --stack prod --non-interactive | passphrase=${demoPassphrase} backend= unreachable=true`,
            `destroy --yes --skip-preview --exec-kind auto.local --stack prod --non-interactive | passphrase=${demoPassphrase} backend= unreachable=true`,
          ],
        );
        assert.deepEqual(
          operations(stub.calls()).filter((call) => call.includes("--stack dev") && !call.startsWith("up ")),
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
      "destroy --all: a stack never created has nothing to destroy (ok, no stack made for it); the others are destroyed",
      withFixture(async ({ stub, lifecycle, stackFile }) => {
        assert.equal((await lifecycle(["up", "prod", "--no-preflight", "--yes"])).code, 0);
        const result = await lifecycle(["destroy", "--all", "--no-preflight", "--yes"], {
          machine: machine({ clusters: ["gitops-prod"] }),
        });
        assert.equal(result.code, 0, result.stderr);
        assert.match(result.stderr, /^\[dev \] gitops: dev has no stack: nothing to destroy$/m);
        assert.equal(fs.existsSync(stackFile("dev")), false);
        assert.deepEqual(
          operations(stub.calls())
            .filter((call) => call.startsWith("destroy "))
            .map((call) => call.split(" | ")[0]),
          ["destroy --yes --skip-preview --exec-kind auto.local --stack prod --non-interactive"],
        );
        assert.match(summary(result.stdout), /^dev {10}ok {6}XmXXs {5}0$/m);
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
      "reports an environment whose stack file is not valid YAML failed, naming file and line, and runs the others",
      withFixture(async ({ stub, project, lifecycle }) => {
        fs.writeFileSync(path.join(project.root, "Pulumi.prod.yaml"), "config:\n  gitops:server:\n    replicas: 5\n    replicas: 6\n");
        const result = await lifecycle(["up", "--all", "--yes", "--no-preflight"]);
        assert.equal(result.code, 1);
        assert.match(result.stderr, /^gitops: Pulumi\.prod\.yaml:4:5: Map keys must be unique — must be valid YAML$/m);
        assert.doesNotMatch(result.stderr, /^\s+at /m);
        assert.deepEqual(
          operations(stub.calls()).map((call) => call.split(" | ")[0]),
          ["up --yes --skip-preview --exec-kind auto.local --stack dev --non-interactive"],
        );
        assert.match(summary(result.stdout), /^dev {10}ok {15}XmXXs {5}5\nprod {9}failed \(exit 1\) {2}XmXXs {5}-\n$/m);
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
  });
});
