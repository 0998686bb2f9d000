// The Pulumi stub the tests run instead of the CLI (test/support/pulumiStub.cjs) fails as the
// CLI does, in its words and with its exit codes (pkg/cmd/pulumi, read at v3.259.0): a stub that
// succeeds where Pulumi fails would let a tool's bug through.
import assert from "node:assert/strict";
import { execFile, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { projectCopy } from "./helpers.ts";
import { until } from "./support/lifecycle.ts";
import { createPulumiStub } from "./support/pulumiStub.ts";

interface Ran {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A stub and a project copy whose state folder holds stack dev; `pulumi` runs them. */
function withStub(test: (pulumi: (args: string[]) => Promise<Ran>, root: string) => Promise<void>) {
  return async () => {
    const stub = createPulumiStub();
    const project = projectCopy();
    const env = stub.env({ PULUMI_CONFIG_PASSPHRASE: "s3cret" });
    const pulumi = (args: string[]) =>
      new Promise<Ran>((resolve) =>
        execFile(path.join(stub.bin, "pulumi"), args, { cwd: project.root, encoding: "utf8", env }, (error, stdout, stderr) =>
          resolve({ status: error ? Number(error.code) : 0, stdout, stderr }),
        ),
      );
    try {
      assert.equal((await pulumi(["stack", "init", "dev"])).status, 0);
      await test(pulumi, project.root);
    } finally {
      stub.remove();
      project.remove();
    }
  };
}

describe("the Pulumi stub, as the Pulumi CLI", { concurrency: true }, () => {
  it(
    "--target: a URN must be in the state (else the run fails), a glob may match nothing; a refresh drops a deploy key GitHub no longer has",
    withStub(async (pulumi, root) => {
      const missing = "urn:pulumi:dev::gitops::github:index/repositoryDeployKey:RepositoryDeployKey::nope";
      const literal = await pulumi(["refresh", "--stack", "dev", "--yes", "--target", missing]);
      assert.deepEqual([literal.status, literal.stderr], [1, `error: no resource named '${missing}' found\n`]);
      const glob = "**github:index/repositoryDeployKey:RepositoryDeployKey::*";
      assert.equal((await pulumi(["refresh", "--stack", "dev", "--yes", "--target", glob])).status, 0);
      const file = path.join(root, ".pulumi-state/.pulumi/stacks/gitops/dev.json");
      const record = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
      const urn = "urn:pulumi:dev::gitops::gitops:index:GitSync$github:index/repositoryDeployKey:RepositoryDeployKey::dev-git-deploy-key";
      fs.writeFileSync(file, JSON.stringify({ ...record, deployKeys: [{ urn, id: "demo:7", owner: "acme", onGitHub: false }] }));
      const preview = await pulumi(["refresh", "--stack", "dev", "--preview-only", "--json", "--target", glob]);
      assert.deepEqual(JSON.parse(preview.stdout), { steps: [{ op: "delete", urn }], changeSummary: { delete: 1 }, duration: 0 });
      const exported = async () =>
        (JSON.parse((await pulumi(["stack", "export", "--stack", "dev"])).stdout) as { deployment: { resources?: { urn: string }[] } })
          .deployment.resources ?? [];
      assert.deepEqual(
        (await exported()).map((resource) => resource.urn),
        [urn],
        "a preview changes nothing",
      );
      const refreshed = await pulumi(["refresh", "--stack", "dev", "--yes", "--target", glob]);
      assert.match(refreshed.stdout, /- 1 deleted/);
      assert.deepEqual(await exported(), []);
    }),
  );

  it(
    "refuses a flag its command does not have, as pflag does (exit 1), long or short",
    withStub(async (pulumi) => {
      const long = await pulumi(["up", "--stack", "dev", "--yes", "--bogus"]);
      assert.deepEqual([long.status, long.stderr], [1, "error: unknown flag: --bogus\n"]);
      const short = await pulumi(["preview", "--stack", "dev", "-z"]);
      assert.deepEqual([short.status, short.stderr], [1, "error: unknown shorthand flag: 'z' in -z\n"]);
      // pflag's shorthand: a value attached (-p8), booleans together (-fy); an unknown letter among them is named.
      assert.equal((await pulumi(["preview", "--stack", "dev", "-p8"])).status, 0);
      const cluster = await pulumi(["up", "--stack", "dev", "-fzy"]);
      assert.deepEqual([cluster.status, cluster.stderr], [1, "error: unknown shorthand flag: 'z' in -fzy\n"]);
      // A flag of another command is unknown here too.
      const other = await pulumi(["stack", "select", "dev", "--yes"]);
      assert.deepEqual([other.status, other.stderr], [1, "error: unknown flag: --yes\n"]);
    }),
  );

  it(
    "without --yes and without a terminal: up and destroy exit 2, refresh exits 1, with the same words",
    withStub(async (pulumi) => {
      const message =
        "error: --yes or --skip-preview or --preview-only must be passed in to proceed when running in non-interactive mode\n";
      for (const [command, code] of [
        ["up", 2],
        ["destroy", 2],
        ["refresh", 1],
      ] as const) {
        const result = await pulumi([command, "--stack", "dev"]);
        assert.deepEqual([result.status, result.stderr], [code, message], command);
      }
    }),
  );

  it(
    "stack rm declines without --yes, and refuses a stack with resources without --force (exit 1)",
    withStub(async (pulumi) => {
      const unconfirmed = await pulumi(["stack", "rm", "dev"]);
      assert.deepEqual([unconfirmed.status, unconfirmed.stderr], [1, "error: non-interactive mode requires --yes flag\n"]);
      assert.equal((await pulumi(["up", "--stack", "dev", "--yes"])).status, 0);
      const busy = await pulumi(["stack", "rm", "--yes", "dev"]);
      assert.equal(busy.status, 1);
      assert.match(busy.stderr, /^error: 'dev' still has resources; removal rejected\. Possible actions:\n/);
      const forced = await pulumi(["stack", "rm", "--yes", "--force", "dev"]);
      assert.deepEqual([forced.status, forced.stdout], [0, "Stack 'dev' has been removed!\n"]);
    }),
  );

  it(
    "a missing stack exits 6; a missing state folder exits 1 and is never created",
    withStub(async (pulumi, root) => {
      const missing = await pulumi(["stack", "select", "qa"]);
      assert.deepEqual([missing.status, missing.stderr], [6, "error: no stack named 'qa' found\n"]);
      fs.rmSync(path.join(root, ".pulumi-state"), { recursive: true });
      const noState = await pulumi(["stack", "select", "--create", "dev"]);
      const state = path.join(fs.realpathSync(root), ".pulumi-state");
      assert.deepEqual(
        [noState.status, noState.stderr],
        [
          1,
          `error: unable to open state directory "file://./.pulumi-state" (resolved to "file://${state}"): stat ${state}: no such file or directory\n`,
        ],
      );
      assert.equal(fs.existsSync(state), false);
    }),
  );

  it(
    "up --expect-no-changes applies the changes, then exits 7",
    withStub(async (pulumi) => {
      const result = await pulumi(["up", "--stack", "dev", "--yes", "--expect-no-changes"]);
      assert.deepEqual([result.status, result.stderr], [7, "error: no changes were expected for update but changes were proposed\n"]);
      assert.match((await pulumi(["preview", "--stack", "dev"])).stdout, /^ {4}5 unchanged$/m);
    }),
  );

  it("terminates on a second SIGINT while cancelling: exit 8, 'update cancelled'", async () => {
    const stub = createPulumiStub();
    const project = projectCopy();
    try {
      const env = stub.env({ PULUMI_CONFIG_PASSPHRASE: "s3cret", STUB_SECONDS: "600", STUB_CANCEL_SECONDS: "600" });
      assert.equal(spawnSync(path.join(stub.bin, "pulumi"), ["stack", "init", "dev"], { cwd: project.root, env }).status, 0);
      const child = spawn(path.join(stub.bin, "pulumi"), ["up", "--stack", "dev", "--yes"], { cwd: project.root, env });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      const ended = new Promise<number | null>((resolve) => child.on("close", resolve));
      await until(() => stub.times().some((line) => line.startsWith("start dev up ")), "up", ended);
      child.kill("SIGINT");
      await until(() => stdout.includes("^C received; cancelling."), "cancelling", ended);
      child.kill("SIGINT");
      assert.equal(await ended, 8);
      assert.match(stdout, /^\^C received; terminating$/m);
      assert.equal(stderr, "error: update cancelled\n");
    } finally {
      stub.remove();
      project.remove();
    }
  });
});
