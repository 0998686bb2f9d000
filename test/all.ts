// npm test: the type check, the lint, the format check and the unit tests at the same time (they
// share nothing). The unit tests' report streams as it comes; each other check's output is
// printed whole once the tests are done; exit 1 if any check failed.
import { spawn } from "node:child_process";

/** Runs `npm run -s <script>` with the npm and the Node that run this; `live`: its output streams. */
function npmRun(script: string, live: boolean): Promise<{ script: string; code: number | null; output: string }> {
  return new Promise((resolve) => {
    const npm = process.env.npm_execpath;
    const [command, args] = npm ? [process.execPath, [npm, "run", "-s", script]] : ["npm", ["run", "-s", script]];
    const child = spawn(command, args, { stdio: ["ignore", live ? "inherit" : "pipe", live ? "inherit" : "pipe"] });
    let output = "";
    child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.on("close", (code) => resolve({ script, code, output }));
  });
}

const results = await Promise.all([
  npmRun("typecheck", false),
  npmRun("lint", false),
  npmRun("format:check", false),
  npmRun("test:unit", true),
]);
const failed = results.filter((result) => result.code !== 0).map((result) => result.script);
for (const { script, code, output } of results.slice(0, -1)) {
  process.stdout.write(`\nnpm run ${script}: ${code === 0 ? "passed" : `FAILED (exit ${code})`}\n${output}`);
}
process.stdout.write(failed.length === 0 ? "\nnpm test: every check passed\n" : `\nnpm test: FAILED: ${failed.join(", ")}\n`);
process.exitCode = failed.length === 0 ? 0 : 1;
