// A stack made with the flux2 chart moves to Flux Operator with one `npm run up`: the tool marks
// the chart's Helm release retained first, so Pulumi forgets it instead of uninstalling Flux.
// Against the Pulumi stub, whose `up` uninstalls a dropped release unless it is retained
// (test/support/pulumiStub.cjs).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { describe, it } from "node:test";
import { EventEmitter } from "node:events";
import { flux2Release, retainingFlux2Release } from "../tools/fluxMigration.ts";
import { main as pulumiTool, updatedStack } from "../tools/pulumi.ts";
import { captureIo } from "./helpers.ts";
import { withFixture, type Fixture } from "./support/lifecycle.ts";

const execFileAsync = promisify(execFile);
const releaseUrn = (stack: string) => `urn:pulumi:${stack}::gitops::gitops:infra:Flux$kubernetes:helm.sh/v3:Release::flux-release`;

interface StubRecord {
  flux2Release?: { urn: string; retainOnDelete?: boolean };
  helmUninstalled?: string[];
}
const readRecord = (fixture: Fixture, stack: string) => JSON.parse(fs.readFileSync(fixture.stackFile(stack), "utf8")) as StubRecord;

/** dev was up before Flux Operator: its state holds the flux2 chart's release. */
async function devUpWithFlux2(fixture: Fixture, retained = false): Promise<void> {
  const up = await fixture.lifecycle(["up", "dev", "--yes", "--no-preflight"]);
  assert.equal(up.code, 0, up.stderr);
  const record = readRecord(fixture, "dev");
  record.flux2Release = { urn: releaseUrn("dev"), ...(retained && { retainOnDelete: true }) };
  fs.writeFileSync(fixture.stackFile("dev"), JSON.stringify(record));
}

const commands = (calls: readonly string[]) => calls.map((call) => call.split(" | ")[0]!.replace(/--file \S+/, "--file FILE"));

describe("moving a stack from the flux2 chart to Flux Operator", { concurrency: true }, () => {
  it(
    "up marks the release retained, then Pulumi forgets it: Flux is never uninstalled",
    withFixture(async (fixture) => {
      await devUpWithFlux2(fixture);
      const up = await fixture.lifecycle(["up", "dev", "--yes", "--no-preflight"]);
      assert.equal(up.code, 0, up.stderr);
      assert.match(
        up.stderr,
        /^gitops: dev: moving Flux from the flux2 chart to Flux Operator: Pulumi forgets the flux2 Helm release without uninstalling it/m,
      );
      const record = readRecord(fixture, "dev");
      assert.equal(record.flux2Release, undefined, "the release is gone from the state");
      assert.equal(record.helmUninstalled, undefined, "and was not uninstalled");
      const calls = commands(fixture.stub.calls());
      const last = calls.slice(calls.lastIndexOf("stack select --create dev --secrets-provider passphrase"));
      assert.deepEqual(last, [
        "stack select --create dev --secrets-provider passphrase",
        "stack export --stack dev",
        "stack import --stack dev --file FILE",
        "up --stack dev --yes --non-interactive",
      ]);
      // The state went through a file of its own, removed afterwards.
      const file = /--file (\S+)/.exec(fixture.stub.calls().find((call) => call.startsWith("stack import"))!)![1]!;
      assert.equal(fs.existsSync(path.dirname(file)), false, file);
    }),
  );

  it(
    "without that step, the stub's up uninstalls it, as Pulumi and Helm would (the test above would catch its absence)",
    withFixture(async (fixture) => {
      await devUpWithFlux2(fixture);
      const bare = await execFileAsync(path.join(fixture.stub.bin, "pulumi"), ["up", "--stack", "dev", "--yes", "--non-interactive"], {
        cwd: fixture.project.root,
        env: fixture.stub.env({ PULUMI_CONFIG_PASSPHRASE: "gitops-demo" }),
      });
      assert.match(bare.stdout, /- 1 deleted/);
      assert.deepEqual(readRecord(fixture, "dev").helmUninstalled, [releaseUrn("dev")]);
    }),
  );

  it(
    "up --all marks it retained too, through the Automation API",
    withFixture(async (fixture) => {
      await devUpWithFlux2(fixture);
      const up = await fixture.lifecycle(["up", "--all", "--yes", "--no-preflight"]);
      assert.equal(up.code, 0, up.stderr);
      assert.match(up.stderr, /dev.*gitops: dev: moving Flux from the flux2 chart to Flux Operator/);
      const record = readRecord(fixture, "dev");
      assert.equal(record.flux2Release, undefined);
      assert.equal(record.helmUninstalled, undefined);
    }),
  );

  it(
    "preview says what up will do and changes nothing",
    withFixture(async (fixture) => {
      await devUpWithFlux2(fixture);
      const preview = await fixture.lifecycle(["preview", "dev", "--no-preflight"]);
      assert.equal(preview.code, 0, preview.stderr);
      assert.match(
        preview.stderr,
        /gitops: dev: this stack still holds the flux2 chart's release: the preview shows it deleted, but npm run up keeps it installed/,
      );
      assert.deepEqual(readRecord(fixture, "dev").flux2Release, { urn: releaseUrn("dev") });
      assert.ok(!commands(fixture.stub.calls()).some((call) => call.startsWith("stack import")));
    }),
  );

  it(
    "a release retained by an earlier, failed up is not imported again",
    withFixture(async (fixture) => {
      await devUpWithFlux2(fixture, true);
      const up = await fixture.lifecycle(["up", "dev", "--yes", "--no-preflight"]);
      assert.equal(up.code, 0, up.stderr);
      assert.doesNotMatch(up.stderr, /moving Flux/);
      assert.ok(!commands(fixture.stub.calls()).some((call) => call.startsWith("stack import")));
      assert.equal(readRecord(fixture, "dev").helmUninstalled, undefined);
    }),
  );

  it(
    "an interrupted update's pending operations: up stops before the import would drop them, and says what to run",
    withFixture(async (fixture) => {
      await devUpWithFlux2(fixture);
      const record = JSON.parse(fs.readFileSync(fixture.stackFile("dev"), "utf8")) as Record<string, unknown>;
      record.pendingOperations = [{ type: "creating", resource: { urn: "urn:pulumi:dev::gitops::kubernetes:core/v1:Namespace::x" } }];
      fs.writeFileSync(fixture.stackFile("dev"), JSON.stringify(record));
      const before = fixture.stub.calls().length;
      const up = await fixture.lifecycle(["up", "dev", "--yes", "--no-preflight"]);
      assert.equal(up.code, 1);
      assert.match(
        up.stderr,
        /gitops: dev: an interrupted update left 1 operation pending in the state, which moving Flux to Flux Operator would drop: first npm run pulumi -- refresh --stack dev/,
      );
      assert.deepEqual(commands(fixture.stub.calls().slice(before)), [
        "stack select --create dev --secrets-provider passphrase",
        "stack export --stack dev",
      ]);
      assert.deepEqual(readRecord(fixture, "dev").flux2Release, { urn: releaseUrn("dev") });
    }),
  );

  it(
    "npm run pulumi -- up marks it retained too; an up that names no stack is refused",
    withFixture(async (fixture) => {
      await devUpWithFlux2(fixture);
      const run = async (argv: string[]) => {
        const io = captureIo({ root: fixture.project.root, env: fixture.stub.env() });
        return { code: await pulumiTool(argv, io, { terminal: false, signals: new EventEmitter() }), stderr: io.err() };
      };
      const bare = await run(["up", "--yes"]);
      assert.equal(bare.code, 2);
      assert.equal(bare.stderr, "gitops: name the stack to update: npm run pulumi -- up --stack <env> (or npm run up -- <env>)\n");
      const up = await run(["up", "-s", "dev", "--yes", "--non-interactive"]);
      assert.equal(up.code, 0, up.stderr);
      assert.match(up.stderr, /gitops: dev: moving Flux from the flux2 chart to Flux Operator/);
      assert.equal(readRecord(fixture, "dev").flux2Release, undefined);
      assert.equal(readRecord(fixture, "dev").helmUninstalled, undefined);
    }),
  );

  it(
    "a stack made with Flux Operator: up exports its state and imports nothing",
    withFixture(async (fixture) => {
      const up = await fixture.lifecycle(["up", "dev", "--yes", "--no-preflight"]);
      assert.equal(up.code, 0, up.stderr);
      assert.doesNotMatch(up.stderr, /moving Flux/);
      assert.ok(!commands(fixture.stub.calls()).some((call) => call.startsWith("stack import")));
    }),
  );
});

describe("the stack an npm run pulumi -- up names", () => {
  it("is read from --stack, --stack=, -s and -s<name>; other commands are left alone", () => {
    assert.equal(updatedStack(["up", "--stack", "dev"]), "dev");
    assert.equal(updatedStack(["update", "--yes", "--stack=prod"]), "prod");
    assert.equal(updatedStack(["up", "-s", "dev"]), "dev");
    assert.equal(updatedStack(["up", "-sdev"]), "dev");
    assert.equal(updatedStack(["up", "--yes"]), null);
    assert.equal(updatedStack(["up", "--", "--stack", "dev"]), null);
    assert.equal(updatedStack(["stack", "output", "--stack", "dev"]), undefined);
    assert.equal(updatedStack(["preview", "--stack", "dev"]), undefined);
  });
});

describe("the state edit", () => {
  const exported = (resources: object[]) => JSON.stringify({ version: 3, deployment: { manifest: {}, resources } });
  const release = { urn: releaseUrn("dev"), type: "kubernetes:helm.sh/v3:Release", inputs: { chart: "flux2" } };
  const other = { urn: "urn:pulumi:dev::gitops::kubernetes:core/v1:Namespace::namespaces-flux", type: "kubernetes:core/v1:Namespace" };

  it("finds the flux2 release, and whether it is retained already", () => {
    assert.equal(flux2Release(exported([other])), "none");
    assert.equal(flux2Release(exported([other, release])), "to retain");
    assert.equal(flux2Release(exported([{ ...release, retainOnDelete: true }])), "retained");
    // Flux Operator's own release, and a release pending deletion, are not it.
    assert.equal(
      flux2Release(exported([{ ...release, inputs: { chart: "oci://ghcr.io/controlplaneio-fluxcd/charts/flux-operator" } }])),
      "none",
    );
    assert.equal(flux2Release(exported([{ ...release, delete: true }])), "none");
    assert.equal(flux2Release("not json"), "none");
  });

  it("marks only that release, and keeps everything else as it was", () => {
    const before = JSON.parse(exported([other, release])) as { deployment: { resources: object[] } };
    const after = JSON.parse(retainingFlux2Release(exported([other, release]))) as typeof before;
    assert.deepEqual(after.deployment.resources, [other, { ...release, retainOnDelete: true }]);
    assert.deepEqual(
      { ...after, deployment: { ...after.deployment, resources: [] } },
      { ...before, deployment: { ...before.deployment, resources: [] } },
    );
  });
});
