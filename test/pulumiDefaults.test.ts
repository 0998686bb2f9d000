// What the npm scripts add to a Pulumi run (tools/pulumiDefaults.ts), beyond what
// test/lifecycle.test.ts sees through the Pulumi calls.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { demoPassphrase, projectStateDirectory, publicPassphraseProblems, pulumiDefaults } from "../tools/pulumiDefaults.ts";
import type { StackConfig } from "../tools/offline/stackConfig.ts";
import { projectCopy } from "./helpers.ts";

describe("Pulumi defaults", () => {
  it("the state folder is Pulumi.yaml's file:// backend, resolved against the project folder; none for any other backend", () => {
    const project = projectCopy();
    try {
      assert.equal(projectStateDirectory(project.root), path.join(project.root, ".pulumi-state"));
      const pulumiYaml = path.join(project.root, "Pulumi.yaml");
      fs.writeFileSync(pulumiYaml, fs.readFileSync(pulumiYaml, "utf8").replace("url: file://./.pulumi-state", "url: s3://team-state"));
      assert.equal(projectStateDirectory(project.root), undefined);
      assert.deepEqual(pulumiDefaults(project.root, {}).variables, { PULUMI_CONFIG_PASSPHRASE: demoPassphrase });
      assert.equal(pulumiDefaults(project.root, {}).stateDirectory, undefined);
    } finally {
      project.remove();
    }
  });

  const withToken: StackConfig = {
    project: "gitops",
    stack: "dev",
    config: {},
    secretKeys: ["gitops:gitToken", "gitops:notASecretSetting"],
    warnings: [],
  };

  it("refuses a secret setting under the demo passphrase, also when the user sets that very passphrase", () => {
    for (const env of [{}, { PULUMI_CONFIG_PASSPHRASE: "" }, { PULUMI_CONFIG_PASSPHRASE: demoPassphrase }]) {
      assert.deepEqual(
        publicPassphraseProblems([withToken], env).map((problem) => problem.split(" encrypted")[0]),
        ["Pulumi.dev.yaml stores gitToken"],
        JSON.stringify(env),
      );
    }
  });

  it("leaves secrets alone under the user's passphrase, passphrase file or backend", () => {
    for (const env of [
      { PULUMI_CONFIG_PASSPHRASE: "mine" },
      { PULUMI_CONFIG_PASSPHRASE_FILE: "/secrets/passphrase" },
      { PULUMI_BACKEND_URL: "s3://team-state" },
    ]) {
      assert.deepEqual(publicPassphraseProblems([withToken], env), [], JSON.stringify(env));
    }
  });
});
