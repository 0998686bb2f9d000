// The test workflow (.github/workflows/test.yml): the README's test command, on every push and
// pull request, on the Node.js floor and on the current LTS.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { projectRoot } from "../infra/settings/index.ts";

interface Step {
  readonly run?: string;
  readonly uses?: string;
  readonly with?: Record<string, string>;
}
interface Workflow {
  readonly on: Record<string, unknown>;
  readonly jobs: { test: { strategy: { matrix: { node: string[] } }; steps: Step[] } };
}

const workflow = parse(fs.readFileSync(path.join(projectRoot, ".github/workflows/test.yml"), "utf8")) as Workflow;
const readme = fs.readFileSync(path.join(projectRoot, "README.md"), "utf8");

describe("the test workflow", () => {
  it("runs on every push and every pull request", () => {
    assert.deepEqual(Object.keys(workflow.on).sort(), ["pull_request", "push"]);
    assert.equal(workflow.on.push, null, "every branch");
    assert.equal(workflow.on.pull_request, null, "every pull request");
  });

  it("runs the README's test command, nothing else", () => {
    const command = /^## Test it\n\n```sh\n(.+)\n```/m.exec(readme)?.[1];
    assert.equal(command, "npm ci && npm test");
    const runs = workflow.jobs.test.steps.flatMap((step) => (step.run === undefined ? [] : [step.run]));
    assert.equal(runs.join(" && "), command);
  });

  it("tests on the Node.js floor (.nvmrc) and on the current LTS", () => {
    assert.deepEqual(workflow.jobs.test.strategy.matrix.node, ["floor", "lts"]);
    const setup = workflow.jobs.test.steps.find((step) => step.uses?.startsWith("actions/setup-node@"));
    assert.ok(setup?.with);
    assert.equal(setup.with["node-version-file"], "${{ matrix.node == 'floor' && '.nvmrc' || '' }}");
    assert.equal(setup.with["node-version"], "${{ matrix.node == 'lts' && 'lts/*' || '' }}");
  });
});
