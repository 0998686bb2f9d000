// End-to-end suite: `npm run test:e2e` (node test/e2e/e2e.ts [--timings <path>]).
// Brings up a throw-away copy of the `dev` environment under its own stack and cluster name,
// checks the live cluster, checks that preview and refresh see no drift, destroys it, and
// records how long each phase took. Needs Docker, kind and the Pulumi CLI; without them it
// prints one `e2e: skipped: ...` line and exits 0 (1 with E2E_REQUIRED=1). Not part of `npm
// test` (the name does not end in .test.ts); test/e2eSuite.test.ts drives it with stub tools.
// Its parts: the throw-away stack (throwawayStack.ts), the live checks (liveChecks.ts), timings
// and report (report.ts), what a failed run saves (diagnostics.ts).
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { interrupt, log, messageOf, minute, projectRoot } from "./common.ts";
import { saveDiagnostics } from "./diagnostics.ts";
import { nothingLeft, releaseNewTag } from "./afterChecks.ts";
import { checkEnvironment } from "./liveChecks.ts";
import { fetchesBetween, machine, milestoneRecorder, missingPrerequisites, PhaseFailed, Report, toolVersions } from "./report.ts";
import {
  cleanup,
  copyProject,
  createStack,
  pulumiIsCancelling,
  pulumiOperation,
  stopPulumi,
  type Run,
  type State,
} from "./throwawayStack.ts";

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

/** The suite's own deadline, safely inside the workflow's timeout-minutes (60): then it fails, cleans up and reports. */
const deadlineMinutes = Number(process.env.E2E_DEADLINE_MINUTES ?? 50);
const deadlineProblem =
  Number.isFinite(deadlineMinutes) && deadlineMinutes > 0
    ? undefined
    : `E2E_DEADLINE_MINUTES=${JSON.stringify(process.env.E2E_DEADLINE_MINUTES)} is not a positive number of minutes`;

/** Why the suite was stopped before its end, if it was. */
let stoppedBy: "interrupted" | "timed out" | undefined;

/**
 * First Ctrl-C: stop what runs, then clean up. A terminal's Ctrl-C reaches Pulumi itself (one
 * process group), and a second SIGINT would make Pulumi terminate at once: so it is passed on
 * only when Pulumi has not said, within two seconds, that it is cancelling. A SIGTERM (a CI
 * cancel) reaches only this process: it is passed on once. A second signal: leave at once,
 * saying what may be left.
 */
function handleStops(run: Run, report: Report): void {
  let signals = 0;
  const stop = (why: "interrupted" | "timed out", message: string) => {
    stoppedBy ??= why;
    log(message);
    interrupt.abort(new Error(why));
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (++signals > 1) {
      report.finish(
        "interrupted",
        `interrupted again: exited without cleanup; may be left: kind cluster ${run.clusterName}, ${run.projectDir}, ${run.stateDir}`,
      );
      log(`interrupted again: exiting without cleanup; may be left: kind cluster ${run.clusterName}, ${run.projectDir}, ${run.stateDir}`);
      process.exit(130);
    }
    stop("interrupted", `${signal}: stopping, then cleaning up (interrupt again to exit at once)`);
    if (signal === "SIGTERM") stopPulumi();
    else setTimeout(() => pulumiIsCancelling() || stopPulumi(), 2000).unref();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  setTimeout(() => {
    stop("timed out", `deadline: ${deadlineMinutes} minutes passed; stopping, then cleaning up`);
    stopPulumi();
  }, deadlineMinutes * minute).unref();
}

/** A TCP port on 127.0.0.1 that nothing listens on now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function main(argv: string[]): Promise<number> {
  const options = parseOptions(argv);
  if ("exitCode" in options) return options.exitCode;
  if (deadlineProblem !== undefined) {
    console.error(`e2e: ${deadlineProblem}`);
    return 2;
  }
  const missing = await missingPrerequisites();
  if (missing.length > 0) {
    // In CI the suite must run: a skip there would look like a pass.
    if (process.env.E2E_REQUIRED === "1") {
      console.error(`e2e: FAILED: E2E_REQUIRED=1, but this machine lacks ${missing.join(", ")}`);
      return 1;
    }
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
    registryPort: await freePort(),
  };
  const report = new Report(options.timingsFile, run, await toolVersions());
  handleStops(run, report);
  log(`stack ${run.stackName}, cluster ${run.clusterName}, project copy ${run.projectDir}, deadline ${deadlineMinutes} minutes`);

  const state: State = { destroyed: false };
  let failure: string | undefined;
  let failedPhase: string | undefined;
  let fluxNamespace = "flux-system";
  try {
    const stack = (state.stack = await report.time("stack setup", () => createStack(run)));
    // Loaded here: a skipped suite must not wait for the SDK the mirrors' module brings.
    const { upstreamFetches } = await import("../../tools/mirrors.ts");
    // The mirrors' counters around each up: what reached the internet (README, "Image pulls and the mirrors").
    let fetchesBefore = await upstreamFetches(machine);
    await report.time("up total", () => {
      const upStart = Date.now();
      return pulumiOperation("up", (operation) => stack.up({ ...operation, onEvent: milestoneRecorder(report, upStart) }));
    });
    report.recordFetches("up total", fetchesBetween(fetchesBefore, await upstreamFetches(machine)));
    const outputs = await stack.outputs();
    if (typeof outputs.fluxNamespace?.value === "string") fluxNamespace = outputs.fluxNamespace.value;
    await report.time("checks", () => checkEnvironment(stack, run));
    // A second look must find nothing to change: the program and the cluster agree.
    await report.time("preview", () => pulumiOperation("preview", (operation) => stack.preview({ ...operation, expectNoChanges: true })));
    await report.time("refresh", () => pulumiOperation("refresh", (operation) => stack.refresh({ ...operation, expectNoChanges: true })));
    // After the no-change checks: a new tag changes the ImagePolicy's status.
    await report.time("release", () => releaseNewTag(run));
    await report.time("destroy", () => pulumiOperation("destroy", (operation) => stack.destroy(operation)));
    state.destroyed = true;
    await report.time("nothing left", () => nothingLeft(run, stack));
    // The same environment again: its images now come from the mirrors' caches.
    state.destroyed = false;
    fetchesBefore = await upstreamFetches(machine);
    await report.time("second up total", () => pulumiOperation("up", (operation) => stack.up(operation)));
    report.recordFetches("second up total", fetchesBetween(fetchesBefore, await upstreamFetches(machine)));
    await report.time("second destroy", () => pulumiOperation("destroy", (operation) => stack.destroy(operation)));
    state.destroyed = true;
    await report.time("nothing left after the second destroy", () => nothingLeft(run, stack));
  } catch (error) {
    failure = stoppedBy === "interrupted" ? "interrupted" : messageOf(error);
    failedPhase = error instanceof PhaseFailed ? error.phase : undefined;
  }

  let diagnostics: string | undefined;
  if (failure !== undefined && stoppedBy !== "interrupted") {
    // Before cleanup: the cluster is still there to be asked.
    diagnostics = path.join(path.dirname(options.timingsFile), "e2e-diagnostics");
    fs.rmSync(diagnostics, { recursive: true, force: true });
    await saveDiagnostics(diagnostics, run, { fluxNamespace, stack: state.stack, previewDiff: failedPhase === "preview" });
  }
  await cleanup(run, state);

  const result = failure === undefined ? "passed" : (stoppedBy ?? "failed");
  report.finish(result, failure, diagnostics);
  console.log(`\n${report.table()}\n`);
  const shown = path.relative(process.cwd(), options.timingsFile);
  log(`report written to ${shown.startsWith("..") ? options.timingsFile : shown}`);
  switch (result) {
    case "passed":
      log("passed");
      return 0;
    case "interrupted":
      console.error("e2e: interrupted (cleanup done)");
      return 130;
    default:
      console.error(
        `e2e: ${result === "timed out" ? `TIMED OUT after ${deadlineMinutes} minutes` : "FAILED"}: ${failure ?? "unknown error"}`,
      );
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
