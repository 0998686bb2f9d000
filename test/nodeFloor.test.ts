// The Node.js floor (undici 8, through @kubernetes/client-node, needs 22.19.0): package.json's
// engines.node states it, and everything else reads or repeats that one value. On an older Node,
// every npm script that runs Node stops with one line naming the version needed.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { projectRoot } from "../infra/settings/index.ts";
import { minimumNode } from "../tools/preflight.ts";
import { meetsFloor, nodeFloor } from "../tools/requireNode.cjs";
import { runProcess } from "./helpers.ts";

const floor = "22.19.0";
const read = (file: string) => fs.readFileSync(path.join(projectRoot, file), "utf8");
const scripts = (JSON.parse(read("package.json")) as { scripts: Record<string, string> }).scripts;
const preload = /^node (--test-reporter=spec )?--require \.\/tools\/requireNode\.cjs /;
/** The npm scripts that start Node on the project's own TypeScript. */
const nodeScripts = Object.entries(scripts).filter(([, command]) => /^node\b/.test(command));

/** A Node.js on PATH below the floor (other than the one running the tests), if this machine has one. */
function olderNode(): { path: string; version: string } | undefined {
  for (const directory of (process.env.PATH ?? "").split(path.delimiter)) {
    const candidate = path.join(directory, "node");
    if (!fs.existsSync(candidate) || fs.realpathSync(candidate) === fs.realpathSync(process.execPath)) continue;
    const version = spawnSync(candidate, ["--version"], { encoding: "utf8" }).stdout.trim();
    if (/^v\d+\.\d+\.\d+$/.test(version) && !meetsFloor(version, floor)) return { path: candidate, version };
  }
  return undefined;
}

describe("the Node.js floor", () => {
  it("is package.json's engines.node, and doctor, .nvmrc, the README and .ci/run agree with it", () => {
    assert.equal(nodeFloor(), floor);
    assert.equal(minimumNode, floor);
    assert.equal(read(".nvmrc"), `${floor}\n`);
    assert.match(
      read("README.md"),
      new RegExp(`^\\| \\[Node\\.js\\]\\(https://nodejs\\.org/\\) \\| ${floor.replaceAll(".", "\\.")} or newer \\|`, "m"),
    );
    // .ci/run asks the preload itself whether this Node will do; the workflows set up .nvmrc's.
    assert.match(read(".ci/run"), /^if ! node tools\/requireNode\.cjs 2>\/dev\/null; then$/m);
    assert.match(read(".github/workflows/e2e.yml"), /^ {10}node-version-file: \.nvmrc$/m);
    assert.match(read(".github/workflows/test.yml"), /node-version-file: \$\{\{ matrix\.node == 'floor' && '\.nvmrc' \|\| '' \}\}/);
  });

  it("compares versions part by part, with or without a leading v", () => {
    const cases: [string, boolean][] = [
      ["22.19.0", true],
      ["v22.19.0", true],
      ["22.19.1", true],
      ["22.20.0", true],
      ["23.0.0", true],
      ["v24.11.1", true],
      ["22.18.9", false],
      ["v22.9.0", false],
      ["21.99.99", false],
      ["v20.20.2", false],
    ];
    assert.deepEqual(
      cases.map(([version]) => [version, meetsFloor(version, floor)]),
      cases,
    );
  });

  it("is checked first by every npm script that starts Node, npm test included", () => {
    assert.ok(nodeScripts.length >= 12, nodeScripts.map(([name]) => name).join(", "));
    for (const [name, command] of nodeScripts) assert.match(command, preload, `npm run ${name}`);
    assert.ok(nodeScripts.some(([name]) => name === "test"));
  });

  const older = olderNode();
  it(
    "stops every such script on an older Node with one line naming the version needed",
    { skip: older === undefined && "no Node.js below the floor on PATH to run the scripts with" },
    async () => {
      const { path: oldNode, version } = older!;
      const results = await Promise.all(
        nodeScripts.map(([, command]) => runProcess("/bin/sh", ["-c", command.replace(/^node\b/, oldNode)], { cwd: projectRoot })),
      );
      for (const [index, [name]] of nodeScripts.entries()) {
        const result = results[index]!;
        assert.equal(result.status, 1, `npm run ${name}: ${result.stderr}`);
        assert.equal(result.stdout, "", name);
        assert.equal(
          result.stderr,
          `gitops: Node.js ${floor} or newer is needed; this is ${version} (https://nodejs.org/en/download)\n`,
          `npm run ${name}`,
        );
      }
    },
  );
});
