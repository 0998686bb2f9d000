// End-to-end suite: `npm run test:e2e` (node test/e2e/e2e.ts [--timings <path>]).
// Brings up a throw-away copy of the `dev` environment under its own stack and cluster name,
// checks the live cluster, checks that preview and refresh see no drift, destroys it, and
// records how long each phase took. Needs Docker, kind and the Pulumi CLI; without them it
// prints one `e2e: skipped: ...` line and exits 0 (1 with E2E_REQUIRED=1). Not part of `npm
// test` (the name does not end in .test.ts); test/e2eSuite.test.ts drives it with stub tools.
// Its parts: the phases (suite.ts), the throw-away stack (throwawayStack.ts), the live checks
// (liveChecks.ts), timings and report (report.ts), what a failed run saves (diagnostics.ts).
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { pulumiCli } from "../../tools/pulumiCli.ts";
import { hasControllingTerminal, Stopping } from "../../tools/stopping.ts";
import { log, messageOf, minute, projectRoot } from "./common.ts";
import { machine, missingPrerequisites, Report, toolVersions } from "./report.ts";
import { deadlinePassed, runSuite } from "./suite.ts";
import { copyProject, type Run } from "./throwawayStack.ts";

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

/**
 * A Ctrl-C or a SIGTERM stops the suite: no further phase starts, the Pulumi operation that runs
 * is stopped once (tools/stopping.ts: a terminal's Ctrl-C reached Pulumi itself), and cleanup
 * runs. Further signals change nothing here; at a terminal a second Ctrl-C reaches Pulumi (and
 * kind) directly, which then end at once, and cleanup goes on with what is left.
 */
function handleStops(stopping: Stopping): void {
  stopping.listen(process, hasControllingTerminal(), (signal) => log(`${signal}: stopping, then cleaning up`));
  setTimeout(() => deadlinePassed(stopping, deadlineMinutes), deadlineMinutes * minute).unref();
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
    gitPort: await freePort(),
  };
  const stopping = new Stopping();
  const report = new Report(options.timingsFile, run, await toolVersions(), stopping.signal);
  handleStops(stopping);
  log(`stack ${run.stackName}, cluster ${run.clusterName}, project copy ${run.projectDir}, deadline ${deadlineMinutes} minutes`);

  const { result, failure } = await runSuite({
    run,
    report,
    stopping,
    machine,
    // The project's own CLI (tools/pulumiCli.ts), which missingPrerequisites made sure of.
    pulumi: {
      pulumiCommand: await (await import("@pulumi/pulumi/automation/index.js")).PulumiCommand.get({ root: pulumiCli(process.env).root }),
    },
    diagnosticsDir: path.join(path.dirname(options.timingsFile), "e2e-diagnostics"),
  });
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
