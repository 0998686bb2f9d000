// The parts of `--all` (tools/runAll.ts) that need no Pulumi: the summary and how Pulumi's
// results and errors are read. Running it is test/lifecycle.test.ts's.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { changedCount, pulumiErrors, summaryTable } from "../tools/runAll.ts";

describe("--all summary", () => {
  it("is a table of environment, result, duration (to the second) and resources changed", () => {
    assert.equal(
      summaryTable([
        { env: "dev", exitCode: 0, seconds: 192.4, changed: 20 },
        { env: "prod", exitCode: 3, seconds: 45 },
        { env: "qa", exitCode: 1, seconds: 59.6, interrupted: true },
      ]),
      [
        "environment  result           duration  resources changed",
        "dev          ok               3m12s     20",
        "prod         failed (exit 3)  0m45s     -",
        "qa           interrupted      1m00s     -",
      ].join("\n"),
    );
  });

  it("counts what Pulumi's summary says changed: every operation but same", () => {
    assert.equal(changedCount({ create: 20, update: 1, replace: 1, same: 3 }), 22);
    assert.equal(changedCount({ create: 21, delete: 2 }), 23);
    assert.equal(changedCount({ same: 25 }), 0);
    assert.equal(changedCount(undefined), undefined);
  });
});

describe("Pulumi's errors under --all", () => {
  it("are Pulumi's own error lines, once each, without the Automation API's wrapping", () => {
    // The shape of the Automation API's CommandError message (automation/cmd.js, errors.js).
    const message = [
      "code: -2",
      " stdout: ",
      " stderr: Command failed with exit code 6: pulumi stack select --stack dev --non-interactive",
      "error: no stack named 'dev' found",
      " err?: Error: Command failed with exit code 6: pulumi stack select --stack dev --non-interactive",
      "error: no stack named 'dev' found",
      "",
    ].join("\n");
    assert.deepEqual(pulumiErrors(new Error(message)), ["error: no stack named 'dev' found"]);
  });

  it("are the first line of any other error", () => {
    assert.deepEqual(pulumiErrors(new Error("spawn pulumi EACCES\n    at somewhere")), ["spawn pulumi EACCES"]);
  });
});
