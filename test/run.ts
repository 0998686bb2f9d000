// npm run test:unit [-- FILE...]: every test file in this one process, so the SDK and the program
// load once, not once per file; the files' tests run at the same time, since most of them wait
// on a child process (a stub, a tool) or a queue (the mock engine runs one evaluation at a time).
// The npm script picks the spec reporter; Node exits 1 when a test fails.
import * as fs from "node:fs";
import * as path from "node:path";
import { describe } from "node:test";
import { pathToFileURL } from "node:url";

const testRoot = import.meta.dirname;
const testFiles = (directory: string): string[] =>
  fs.readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(directory, entry.name);
    if (entry.isDirectory()) return entry.name === "fixtures" || entry.name === "e2e" ? [] : testFiles(file);
    return entry.name.endsWith(".test.ts") ? [file] : [];
  });

const only = process.argv.slice(2).map((file) => path.resolve(file));
const files = only.length > 0 ? only : testFiles(testRoot).sort();

// Files run at the same time; within a file, tests run one after another unless a describe of
// the file asks for more (a suite passes its concurrency on to what it holds). No test waits on
// the clock: the timeout only ends a run that hangs (a stub that never answers), so that it
// reports the test instead of never ending.
describe("npm run test:unit", { concurrency: Number(process.env.TEST_CONCURRENCY ?? 8), timeout: 15 * 60_000 }, () => {
  for (const file of files) {
    describe(path.relative(testRoot, file), { concurrency: 1 }, async () => {
      await import(pathToFileURL(file).href);
    });
  }
});
