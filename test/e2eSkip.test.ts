// The end-to-end suite is not part of npm test. Here it may only show that, on a machine
// without Docker, kind or Pulumi, it skips with one line and exit 0: that is not a pass.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { dockerDaemonAnswers, executableMissing, runCli } from "./helpers";

const missing = !dockerDaemonAnswers() || executableMissing("kind") || executableMissing("pulumi");

describe("npm run test:e2e", () => {
  it("skips with a one-line reason and exit 0 where Docker, kind or Pulumi is missing", { skip: missing ? false : "this machine could run the real suite: run npm run test:e2e" }, () => {
    const result = runCli("test/e2e/e2e.ts", []);
    assert.equal(result.status, 0);
    assert.equal(result.stderr, "");
    assert.match(result.stdout, /^e2e: skipped: .+\n$/);
  });
});
