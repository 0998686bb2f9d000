// npm run bench: its command line (the measurements themselves are a benchmark, not a test).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { main } from "../tools/bench.ts";
import { captureIo } from "./helpers.ts";

describe("npm run bench", () => {
  it("prints its help with --help", async () => {
    const io = captureIo();
    assert.equal(await main(["--help"], io), 0);
    assert.ok(io.out().startsWith("usage: npm run bench -- [--runs N] [--render-only]\n\nMeasures"), io.out());
  });

  it("refuses a run count that is not a whole number, naming the option", async () => {
    const io = captureIo();
    assert.equal(await main(["--runs", "0"], io), 2);
    assert.equal(
      io.err(),
      'gitops: --runs "0": must be a whole number of at least 1\nusage: npm run bench -- [--runs N] [--render-only]\n',
    );
  });
});
