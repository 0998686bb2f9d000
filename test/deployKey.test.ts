// A deploy key the stack added to GitHub and GitHub no longer has (its token was deleted, or a
// user removed it): up and destroy refresh it first and say so, doctor reports it, and a
// refused token is explained. Against the Pulumi stub, whose deploy keys behave as the GitHub
// provider's (test/support/pulumiStub.cjs).
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { deployKeyTarget } from "../tools/deployKey.ts";
import { main as doctor } from "../tools/doctor.ts";
import { captureIo } from "./helpers.ts";
import { machine, operations, withFixture, type Fixture } from "./support/lifecycle.ts";

/** dev syncs from a GitHub repository over SSH with the key the stack generates. */
const devOnGithub = [
  "config:",
  "  gitops:cluster:",
  "    name: gitops-dev",
  "  gitops:git:",
  "    url: ssh://git@github.com/acme/gitops-demo.git",
  "",
].join("\n");

const keyUrn = (stack: string) =>
  `urn:pulumi:${stack}::gitops::gitops:index:Environment$gitops:index:GitSync$${"github:index/repositoryDeployKey:RepositoryDeployKey"}::${stack}-git-deploy-key`;

/** dev is up, and its state records the deploy key; `onGitHub`: whether GitHub still has it. */
async function devUpWithKey({ project, lifecycle, stackFile }: Fixture, onGitHub: boolean): Promise<void> {
  fs.writeFileSync(path.join(project.root, "Pulumi.dev.yaml"), devOnGithub);
  const up = await lifecycle(["up", "dev", "--yes", "--no-preflight"]);
  assert.equal(up.code, 0, up.stderr);
  const record = JSON.parse(fs.readFileSync(stackFile("dev"), "utf8")) as Record<string, unknown>;
  record.deployKeys = [{ urn: keyUrn("dev"), id: "gitops-demo:4242", owner: "acme", onGitHub }];
  fs.writeFileSync(stackFile("dev"), JSON.stringify(record));
}

/** Both kind clusters run: destroy has no reason to refresh the whole stack first. */
const clustersUp = { machine: machine({ clusters: ["gitops-dev", "gitops-prod"] }) };
const refreshKey = `refresh --stack dev --yes --non-interactive --run-program --target ${deployKeyTarget}`;
const gone =
  "gitops: dev: the deploy key the stack added to github.com/acme/gitops-demo is no longer there (GitHub deletes the deploy keys a token added when that token is deleted, or someone removed it): Flux could not fetch since. It is dropped from the state; ";

describe("a deploy key the stack added to GitHub", { concurrency: true }, () => {
  it(
    "gone from GitHub: destroy drops it from the state first and succeeds (it failed on GitHub's 404)",
    withFixture(async (fixture) => {
      await devUpWithKey(fixture, false);
      const destroy = await fixture.lifecycle(["destroy", "dev", "--yes", "--no-preflight"], clustersUp);
      assert.equal(destroy.code, 0, destroy.stderr + destroy.stdout);
      assert.ok(destroy.stderr.includes(`${gone}there is nothing left to remove on GitHub.\n`), destroy.stderr);
      assert.deepEqual(
        operations(fixture.stub.calls())
          .slice(1)
          .map((call) => call.split(" | ")[0]),
        [refreshKey, "destroy --stack dev --yes --non-interactive"],
      );
    }),
  );

  it(
    "gone from GitHub: without the refresh, the stub's destroy fails as the provider does (the test above would catch its absence)",
    withFixture(async (fixture) => {
      await devUpWithKey(fixture, false);
      // A stack file that adds no key: the tool leaves the key alone, as it did before it checked.
      fs.writeFileSync(path.join(fixture.project.root, "Pulumi.dev.yaml"), "config: {}\n");
      const destroy = await fixture.lifecycle(["destroy", "dev", "--yes", "--no-preflight"], clustersUp);
      assert.equal(destroy.code, 1);
      assert.match(
        destroy.stderr,
        /error: .*RepositoryDeployKey::dev-git-deploy-key: DELETE https:\/\/api\.github\.com\/repos\/acme\/gitops-demo\/keys\/4242: 404 Not Found \[\]/,
      );
    }),
  );

  it(
    "gone from GitHub: up says so, drops it, and goes on to add it again",
    withFixture(async (fixture) => {
      await devUpWithKey(fixture, false);
      const up = await fixture.lifecycle(["up", "dev", "--yes", "--no-preflight"]);
      assert.equal(up.code, 0, up.stderr);
      assert.ok(up.stderr.includes(`${gone}this update adds it again.\n`), up.stderr);
      assert.deepEqual(
        operations(fixture.stub.calls())
          .slice(1)
          .map((call) => call.split(" | ")[0]),
        [refreshKey, "up --stack dev --yes --non-interactive"],
      );
      const record = JSON.parse(fs.readFileSync(fixture.stackFile("dev"), "utf8")) as { deployKeys?: unknown[] };
      assert.deepEqual(record.deployKeys, []);
    }),
  );

  it(
    "still on GitHub: up refreshes it and says nothing more; a stack that recorded none is not refreshed",
    withFixture(async (fixture) => {
      fs.writeFileSync(path.join(fixture.project.root, "Pulumi.dev.yaml"), devOnGithub);
      const first = await fixture.lifecycle(["up", "dev", "--yes", "--no-preflight"]);
      assert.equal(first.code, 0, first.stderr);
      assert.deepEqual(
        fixture.stub.calls().map((call) => call.split(" | ")[0]),
        // One export for the flux2 release check (tools/fluxMigration.ts), one for the deploy key's.
        [
          "stack select --create dev --secrets-provider passphrase",
          "stack export --stack dev",
          "stack export --stack dev",
          "up --stack dev --yes --non-interactive",
        ],
      );
      await devUpWithKey(fixture, true);
      const up = await fixture.lifecycle(["up", "dev", "--yes", "--no-preflight"]);
      assert.equal(up.code, 0, up.stderr);
      assert.doesNotMatch(up.stderr, /no longer there/);
      assert.ok(fixture.stub.calls().some((call) => call.startsWith(refreshKey)));
    }),
  );

  it(
    "a token GitHub refuses: up stops before updating, with Pulumi's error and what to do",
    withFixture(async (fixture) => {
      await devUpWithKey(fixture, false);
      const calls = fixture.stub.calls().length;
      const up = await fixture.lifecycle(["up", "dev", "--yes", "--no-preflight"], { env: { STUB_GITHUB_REFUSES: "1" } });
      assert.equal(up.code, 1);
      assert.match(up.stderr, /keys\/4242: 401 Bad credentials/);
      assert.match(
        up.stderr,
        /gitops: dev: could not check the deploy key on github\.com\/acme\/gitops-demo \(Pulumi's error above\)\. If GitHub answered 401 Bad credentials, the token was deleted or has expired .*pulumi config set --secret --stack dev githubToken <new token>, or export GITHUB_TOKEN=<new token>\) and run this again\. The token must live as long as the stack\./,
      );
      assert.equal(
        fixture.stub
          .calls()
          .slice(calls)
          .some((call) => call.startsWith("up ")),
        false,
      );
    }),
  );

  it(
    "gone from GitHub, with --all: each environment is refreshed through the Automation API before its destroy",
    withFixture(async (fixture) => {
      await devUpWithKey(fixture, false);
      const destroy = await fixture.lifecycle(["destroy", "--all", "--yes", "--no-preflight"], clustersUp);
      assert.equal(destroy.code, 0, destroy.stderr + destroy.stdout);
      assert.ok(destroy.stderr.includes(`[dev ] ${gone}there is nothing left to remove on GitHub.\n`), destroy.stderr);
      const refresh = operations(fixture.stub.calls()).find((call) => call.startsWith("refresh ") && call.includes("--stack dev"));
      assert.match(refresh ?? "", /--run-program=true/);
      assert.ok(refresh?.includes(`--target ${deployKeyTarget}`), refresh);
    }),
  );

  it(
    "doctor says whether GitHub still has it, and changes nothing",
    withFixture(async (fixture) => {
      await devUpWithKey(fixture, false);
      const run = async () => {
        const io = captureIo({ root: fixture.project.root, env: fixture.stub.env() });
        const code = await doctor(["dev"], io, machine());
        return { code, stderr: io.err() };
      };
      const missing = await run();
      assert.equal(missing.code, 1);
      assert.match(
        missing.stderr,
        /deploy key.*dev: the deploy key the stack added to github\.com\/acme\/gitops-demo is no longer there .*Flux cannot fetch — npm run up -- dev adds it again/,
      );
      const record = JSON.parse(fs.readFileSync(fixture.stackFile("dev"), "utf8")) as { deployKeys: { onGitHub: boolean }[] };
      assert.equal(record.deployKeys.length, 1, "doctor left the state as it was");
      record.deployKeys[0]!.onGitHub = true;
      fs.writeFileSync(fixture.stackFile("dev"), JSON.stringify(record));
      const present = await run();
      assert.match(present.stderr, /deploy key.*dev: on github\.com\/acme\/gitops-demo/);
      assert.ok(
        fixture.stub
          .calls()
          .some((call) => call.startsWith(`refresh --stack dev --preview-only --json --run-program --target ${deployKeyTarget}`)),
      );
    }),
  );
});
