// npm run up|preview|destroy -- <env>: the Pulumi CLI invocations, defaults and errors.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import { demoPassphrase, planLifecycle } from "../infra/cli/pulumi";
import { runCli } from "./helpers";

describe("lifecycle plan", () => {
  it("selects (or creates) the stack, then runs the command for it with the extra options", () => {
    const plan = planLifecycle("up", "dev", ["--yes"], {});
    assert.deepEqual(plan.invocations, [
      ["stack", "select", "--create", "dev", "--secrets-provider", "passphrase"],
      ["up", "--stack", "dev", "--yes"],
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
});

describe("lifecycle CLI", () => {
  let bin: string;
  beforeEach(() => {
    bin = fs.mkdtempSync(path.join(os.tmpdir(), "pulumi-stub-"));
    // Records each call with the variables the wrapper controls; fails `up` when asked to.
    fs.writeFileSync(
      path.join(bin, "pulumi"),
      `#!/usr/bin/env bash
[ "$1" = version ] && { echo v3.200.0; exit 0; }
echo "$* | passphrase=\${PULUMI_CONFIG_PASSPHRASE:-} backend=\${PULUMI_BACKEND_URL:-}" >> "${bin}/calls"
[ "$1" = up ] && [ -n "\${STUB_FAIL_UP:-}" ] && exit 3
exit 0
`,
      { mode: 0o755 },
    );
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

  it("runs pulumi for the environment with the embedded defaults", () => {
    const result = runCli("infra/cli/pulumi.ts", ["preview", "dev", "--diff"], { env: env() });
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(calls(), [
      `stack select --create dev --secrets-provider passphrase | passphrase=${demoPassphrase} backend=`,
      `preview --stack dev --diff | passphrase=${demoPassphrase} backend=`,
    ]);
    assert.match(result.stderr, /gitops: state: local backend \.pulumi-state\//);
  });

  it("passes the user's passphrase and backend through untouched", () => {
    const result = runCli("infra/cli/pulumi.ts", ["up", "prod"], {
      env: env({ PULUMI_CONFIG_PASSPHRASE: "s3cret", PULUMI_BACKEND_URL: "file:///tmp/team" }),
    });
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(calls(), [
      "stack select --create prod | passphrase=s3cret backend=file:///tmp/team",
      "up --stack prod | passphrase=s3cret backend=file:///tmp/team",
    ]);
  });

  it("exits with pulumi's code when it fails", () => {
    const result = runCli("infra/cli/pulumi.ts", ["up", "dev"], { env: env({ STUB_FAIL_UP: "1" }) });
    assert.equal(result.status, 3);
  });

  it("names the environments for an unknown one, before running pulumi", () => {
    const result = runCli("infra/cli/pulumi.ts", ["up", "staging"], { env: env() });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /^gitops: no environment "staging": Pulumi\.staging\.yaml does not exist\nusage: npm run up -- <env> \[pulumi options\]\s+\(environments: dev, prod\)/);
    assert.equal(fs.existsSync(path.join(bin, "calls")), false);
  });

  it("says how to install Pulumi when the CLI is missing", () => {
    const result = runCli("infra/cli/pulumi.ts", ["preview", "dev"], { env: { PATH: path.dirname(process.execPath) } });
    assert.equal(result.status, 127);
    assert.equal(result.stderr.trim(), "gitops: the Pulumi CLI is not on PATH; install it: https://www.pulumi.com/docs/iac/download-install/");
  });
});
