// The end-to-end workflow (.github/workflows/e2e.yml) against the project it tests: the tools it
// installs are the ones the project pins, a skip cannot pass there, the suite stops itself before
// the job's timeout, the runner's cancel reaches the suite, and what the suite writes is uploaded.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { projectRoot } from "../infra/settings/index.ts";
import { minimumKind } from "../tools/preflight.ts";

interface Step {
  readonly name?: string;
  readonly run?: string;
  readonly uses?: string;
  readonly if?: string;
  readonly with?: Record<string, string>;
}
interface Workflow {
  readonly concurrency: { group: string; "cancel-in-progress": string | boolean };
  readonly jobs: { e2e: { "timeout-minutes": number; env: Record<string, string>; steps: Step[] } };
}

const workflow = parse(fs.readFileSync(path.join(projectRoot, ".github/workflows/e2e.yml"), "utf8")) as Workflow;
const job = workflow.jobs.e2e;
const packageJson = JSON.parse(fs.readFileSync(path.join(projectRoot, "package.json"), "utf8")) as {
  dependencies: Record<string, string>;
  scripts: Record<string, string>;
};
const readme = fs.readFileSync(path.join(projectRoot, "README.md"), "utf8");

function stepRunning(fragment: string): Step {
  const step = job.steps.find((candidate) => candidate.run?.includes(fragment));
  assert.ok(step, `no step of the e2e job runs ${JSON.stringify(fragment)}`);
  return step;
}

describe("the end-to-end workflow", () => {
  it("installs the Pulumi CLI at the version package.json pins @pulumi/pulumi to", () => {
    const pinned = packageJson.dependencies["@pulumi/pulumi"] ?? "";
    assert.match(pinned, /^\d+\.\d+\.\d+$/, "@pulumi/pulumi is pinned to one exact version");
    assert.equal(job.env.PULUMI_VERSION, pinned);
    // Where the tools look for the pinned CLI (tools/pulumiCli.ts), not on PATH.
    assert.match(
      stepRunning("get.pulumi.com").run ?? "",
      /sh -s -- --version "\$PULUMI_VERSION" --install-root "\$HOME\/\.pulumi\/versions\/\$PULUMI_VERSION" --no-edit-path/,
    );
  });

  it("installs the kind release the preflight and README require, checked against a pinned digest", () => {
    const required = `v${minimumKind.major}.${minimumKind.minor}.0`;
    assert.equal(job.env.KIND_VERSION, required);
    assert.match(readme, new RegExp(`\\| \\[kind\\]\\([^)]*\\) \\| ${required.replace(/\./g, "\\.")} or newer \\|`));
    assert.match(job.env.KIND_SHA256 ?? "", /^[0-9a-f]{64}$/);
    const install = stepRunning("kind-linux-amd64").run ?? "";
    assert.match(install, /releases\/download\/\$KIND_VERSION/);
    assert.match(install, /kind-linux-amd64\.sha256sum/, "compares with the digest the release publishes");
    assert.match(install, /echo "\$KIND_SHA256 {2}\S*kind-linux-amd64" \| sha256sum --check/);
  });

  it("fails when a tool is missing, and the suite's deadline leaves time to clean up before the job's timeout", () => {
    assert.equal(job.env.E2E_REQUIRED, "1");
    const deadline = Number(job.env.E2E_DEADLINE_MINUTES);
    assert.ok(deadline > 0, `E2E_DEADLINE_MINUTES is ${job.env.E2E_DEADLINE_MINUTES}`);
    assert.ok(
      job["timeout-minutes"] - deadline >= 8,
      `deadline ${deadline} min leaves ${job["timeout-minutes"] - deadline} min of the job's ${job["timeout-minutes"]} for cleanup and upload`,
    );
  });

  it("runs the suite as the shell's exec, the same command as npm run test:e2e", () => {
    const suite = stepRunning("test/e2e/e2e.ts").run ?? "";
    assert.equal(suite.trim(), `exec ${packageJson.scripts["test:e2e"]} --timings out/e2e-timings.json`);
  });

  it("uploads the report and the diagnostics bundle whatever happened", () => {
    const upload = job.steps.find((step) => step.uses?.startsWith("actions/upload-artifact@"));
    assert.ok(upload, "an upload-artifact step");
    assert.equal(upload.if, "always()");
    const paths = (upload.with?.path ?? "").split("\n").map((line) => line.trim());
    // The suite writes its diagnostics next to its report (test/e2e/e2e.ts).
    assert.ok(paths.includes("out/e2e-timings.json"), `uploads ${paths.join(", ")}`);
    assert.ok(paths.includes("out/e2e-diagnostics/"), `uploads ${paths.join(", ")}`);
  });

  it("lets a newer push cancel a pull-request run, never a run on main", () => {
    assert.equal(workflow.concurrency["cancel-in-progress"], "${{ github.event_name == 'pull_request' }}");
  });
});
