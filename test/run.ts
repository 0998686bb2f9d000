// npm run test:unit: every test file in this one process (the SDK and the program load once,
// not once per file), with the spec reporter; exit 1 when a test fails. `node --test` with
// --experimental-test-isolation=none does the same, but the flag's name differs across Node
// versions; the run() API's option does not.
import * as fs from "node:fs";
import * as path from "node:path";
import { run } from "node:test";
import { spec } from "node:test/reporters";

const testRoot = import.meta.dirname;
const testFiles = (directory: string): string[] =>
  fs.readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(directory, entry.name);
    if (entry.isDirectory()) return entry.name === "fixtures" || entry.name === "e2e" ? [] : testFiles(file);
    return entry.name.endsWith(".test.ts") ? [file] : [];
  });

const only = process.argv.slice(2).map((file) => path.resolve(file));
// No test waits on the clock; the timeout only ends one that hangs (a stub that never answers),
// so that the run reports it instead of never ending.
run({ files: only.length > 0 ? only : testFiles(testRoot).sort(), isolation: "none", timeout: 5 * 60_000 })
  .on("test:fail", () => (process.exitCode = 1))
  .compose(spec)
  .pipe(process.stdout);
