// End-to-end suite: `npm run test:e2e` (node --import tsx test/e2e/e2e.ts [--timings <path>]).
// Brings up a throw-away copy of the `dev` environment under its own stack and cluster name,
// checks the live cluster, checks that preview and refresh see no drift, destroys it, and
// records how long each phase took. Needs Docker, kind and the Pulumi CLI; without them it
// prints one `e2e: skipped: ...` line and exits 0. Not part of `npm test` (the name does not
// end in .test.ts). Its parts: the throw-away stack (throwawayStack.ts), the live checks
// (liveChecks.ts), timings and report (report.ts).
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { CheckFailed, interrupt, log, messageOf, projectRoot } from "./common";
import { checkEnvironment, clusterExists } from "./liveChecks";
import { milestoneRecorder, missingPrerequisites, Timings, toolVersions, writeReport, type Result } from "./report";
import { cleanup, copyProject, createStack, pulumiOperation, type Run, type State } from "./throwawayStack";

const usage = "usage: npm run test:e2e [-- --timings FILE]   (default out/e2e-timings.json)";

/** The command line; undefined after printing usage (for --help, or a bad option: `exitCode`). */
function parseOptions(argv: string[]): { timingsFile: string } | { exitCode: number } {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: { timings: { type: "string" }, help: { type: "boolean", short: "h" } } }));
  } catch (error) {
    console.error(`e2e: ${messageOf(error)}\n${usage}`);
    return { exitCode: 2 };
  }
  if (values.help) {
    console.log(usage);
    return { exitCode: 0 };
  }
  return { timingsFile: path.resolve(values.timings ?? path.join(projectRoot, "out", "e2e-timings.json")) };
}

/** First Ctrl-C: stop what runs and clean up. Second: leave at once, saying what may be left. */
function handleInterrupts(run: Run): void {
  const onSignal = () => {
    if (!interrupt.signal.aborted) {
      log("interrupted: cleaning up (interrupt again to exit at once)");
      interrupt.abort(new Error("interrupted"));
      return;
    }
    log(`interrupted again: exiting without cleanup; may be left: kind cluster ${run.clusterName}, ${run.projectDir}, ${run.stateDir}`);
    process.exit(130);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
}

async function main(argv: string[]): Promise<number> {
  const options = parseOptions(argv);
  if ("exitCode" in options) return options.exitCode;
  const missing = await missingPrerequisites();
  if (missing.length > 0) {
    console.log(`e2e: skipped: ${missing.join(", ")}`);
    return 0;
  }

  const id = randomBytes(4).toString("hex");
  const stackName = `e2e-${id}`;
  const run: Run = {
    id,
    stackName,
    clusterName: `gitops-e2e-${id}`,
    projectDir: copyProject(stackName),
    stateDir: fs.mkdtempSync(path.join(os.tmpdir(), "gitops-e2e-state-")),
  };
  handleInterrupts(run);
  log(`stack ${run.stackName}, cluster ${run.clusterName}, project copy ${run.projectDir}`);

  const timings = new Timings();
  const state: State = { destroyed: false };
  let result: Result = "failed";
  let failure: string | undefined;
  try {
    const stack = (state.stack = await timings.time("stack setup", () => createStack(run)));
    await timings.time("up total", () => {
      const upStart = Date.now();
      return pulumiOperation("up", (options) => stack.up({ ...options, onEvent: milestoneRecorder(timings, upStart) }));
    });
    await timings.time("checks", () => checkEnvironment(stack, run));
    // A second look must find nothing to change: the program and the cluster agree.
    await timings.time("preview", () => pulumiOperation("preview", (options) => stack.preview({ ...options, expectNoChanges: true })));
    await timings.time("refresh", () => pulumiOperation("refresh", (options) => stack.refresh({ ...options, expectNoChanges: true })));
    await timings.time("destroy", () => pulumiOperation("destroy", (options) => stack.destroy(options)));
    state.destroyed = true;
    if (await clusterExists(run.clusterName)) throw new CheckFailed(`kind cluster ${run.clusterName} still exists after destroy`);
    log(`ok: kind no longer lists cluster ${run.clusterName}`);
    result = "passed";
  } catch (error) {
    result = interrupt.signal.aborted ? "interrupted" : "failed";
    failure = interrupt.signal.aborted ? "interrupted" : messageOf(error);
  } finally {
    await cleanup(run, state);
  }

  console.log(`\n${timings.table()}\n`);
  writeReport(options.timingsFile, run, await toolVersions(), timings, result, failure);
  const shown = path.relative(process.cwd(), options.timingsFile);
  log(`timings written to ${shown.startsWith("..") ? options.timingsFile : shown}`);
  switch (result) {
    case "passed":
      log("passed");
      return 0;
    case "interrupted":
      console.error("e2e: interrupted (cleanup done)");
      return 130;
    case "failed":
      console.error(`e2e: FAILED: ${failure ?? "unknown error"}`);
      return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`e2e: ${messageOf(error)}`);
    process.exit(1);
  },
);
