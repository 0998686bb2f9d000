// The end-to-end suite's phases, one after another, each timed in the report; then, whatever
// happened, diagnostics (for a failure) and cleanup. A stop (Ctrl-C, SIGTERM, the deadline)
// lets no further phase start, stops the Pulumi operation that runs, and still cleans up
// everything made before it: the stack, its state, the project copy and the cluster.
import * as fs from "node:fs";
import type { Machine } from "../../tools/machine.ts";
import type { Stopping } from "../../tools/stopping.ts";
import { nothingLeft, releaseNewTag } from "./afterChecks.ts";
import { deletedAndPruned, fluxCommitArrived, pulled, pushedAndApplied, serverRunsTag } from "./gitLoop.ts";
import { log, messageOf } from "./common.ts";
import { saveDiagnostics } from "./diagnostics.ts";
import { checkEnvironment } from "./liveChecks.ts";
import { fetchesBetween, milestoneRecorder, PhaseFailed, type Report, type Result } from "./report.ts";
import { cleanup, createStack, pulumiOperation, type PulumiSetup, type Run, type State } from "./throwawayStack.ts";

export interface Suite {
  readonly run: Run;
  readonly report: Report;
  /** Requested by a signal or the deadline; the report reads the same stop. */
  readonly stopping: Stopping;
  /** docker and kind, as tools/machine.ts runs them. */
  readonly machine: Machine;
  readonly pulumi: PulumiSetup;
  /** Where a failed run saves its diagnostics bundle (emptied first). */
  readonly diagnosticsDir: string;
}

export interface Outcome {
  readonly result: Exclude<Result, "running">;
  readonly failure?: string;
  /** The diagnostics bundle, when one was saved. */
  readonly diagnostics?: string;
}

/** The suite's own deadline passed: Pulumi did not get this signal, so it is asked to stop. */
export function deadlinePassed(stopping: Stopping, minutes: number): void {
  log(`deadline: ${minutes} minutes passed; stopping, then cleaning up`);
  stopping.request("timed out", true);
}

/** Runs every phase, then diagnostics and cleanup; the report is finished with the outcome. */
export async function runSuite(suite: Suite): Promise<Outcome> {
  const { run, report, stopping, machine } = suite;
  const state: State = { destroyed: false };
  let failure: string | undefined;
  let failedPhase: string | undefined;
  let fluxNamespace = "flux-system";
  const operation = <T>(name: string, work: Parameters<typeof pulumiOperation<T>>[2]) => pulumiOperation(name, stopping, work);
  try {
    const stack = await report.time("stack setup", () => createStack(run, suite.pulumi, (created) => (state.stack = created)));
    // Loaded here: a skipped suite must not wait for the SDK the mirrors' module brings.
    const { upstreamFetches } = await import("../../tools/mirrors.ts");
    // The mirrors' counters around each up: what reached the internet (README, "Image pulls and the mirrors").
    let fetchesBefore = await upstreamFetches(machine);
    await report.time("up total", () => {
      const upStart = Date.now();
      return operation("up", (options) => stack.up({ ...options, onEvent: milestoneRecorder(report, upStart) }));
    });
    report.recordFetches("up total", fetchesBetween(fetchesBefore, await upstreamFetches(machine)));
    const outputs = await stack.outputs();
    if (typeof outputs.fluxNamespace?.value === "string") fluxNamespace = outputs.fluxNamespace.value;
    await report.time("checks", () => checkEnvironment(stack, run, stopping.signal));
    // A second look must find nothing to change: the program and the cluster agree.
    await report.time("preview", () => operation("preview", (options) => stack.preview({ ...options, expectNoChanges: true })));
    await report.time("refresh", () => operation("refresh", (options) => stack.refresh({ ...options, expectNoChanges: true })));
    // The GitOps loop on the stack's local Git server: a push applied, a deletion pruned.
    await report.time("git push applied", () => pushedAndApplied(run, stack, stopping.signal));
    await report.time("git deletion pruned", () => deletedAndPruned(run, stack, stopping.signal));
    // After the no-change checks: a new tag changes the ImagePolicy's status, and Flux commits it.
    const tag = await report.time("release", () => releaseNewTag(run));
    await report.time("Flux's commit", () => fluxCommitArrived(run, tag));
    await report.time("git pull", () => pulled(run));
    await report.time("up with the new tag", () => operation("up", (options) => stack.up(options)));
    await report.time("new tag running", () => serverRunsTag(stack, tag, stopping.signal));
    await report.time("destroy", () => operation("destroy", (options) => stack.destroy(options)));
    state.destroyed = true;
    await report.time("nothing left", () => nothingLeft(run, stack, machine));
    // The same environment again: its images now come from the mirrors' caches.
    state.destroyed = false;
    fetchesBefore = await upstreamFetches(machine);
    await report.time("second up total", () => operation("up", (options) => stack.up(options)));
    report.recordFetches("second up total", fetchesBetween(fetchesBefore, await upstreamFetches(machine)));
    await report.time("second destroy", () => operation("destroy", (options) => stack.destroy(options)));
    state.destroyed = true;
    await report.time("nothing left after the second destroy", () => nothingLeft(run, stack, machine));
  } catch (error) {
    failure = stopping.reason === "interrupted" ? "interrupted" : messageOf(error);
    failedPhase = error instanceof PhaseFailed ? error.phase : undefined;
  }

  let diagnostics: string | undefined;
  if (failure !== undefined && stopping.reason !== "interrupted") {
    // Before cleanup: the cluster is still there to be asked.
    diagnostics = suite.diagnosticsDir;
    fs.rmSync(diagnostics, { recursive: true, force: true });
    await saveDiagnostics(diagnostics, run, machine, { fluxNamespace, stack: state.stack, previewDiff: failedPhase === "preview" });
  }
  await cleanup(run, state, machine);

  const result = failure === undefined ? "passed" : (stopping.reason ?? "failed");
  report.finish(result, failure, diagnostics);
  return { result, failure, diagnostics };
}
