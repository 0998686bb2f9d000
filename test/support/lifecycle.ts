// What the tests of npm run up|preview|destroy (tools/lifecycle.ts) share: each test gets its own
// fresh copy of the project and Pulumi stub (test/support/pulumiStub.ts: found on io.env's PATH
// for one environment, the Automation API's PulumiCommand for --all), and calls the tool
// in-process through main() on a faked machine.
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import * as path from "node:path";
import type { Io } from "../../tools/cli.ts";
import { main } from "../../tools/lifecycle.ts";
import type { Signals } from "../../tools/stopping.ts";
import type { CommandResult, Machine } from "../../tools/machine.ts";
import { captureIo, projectCopy } from "../helpers.ts";
import { gitOfHealthyCheckout } from "./preflight.ts";
import { createPulumiStub, type PulumiStub } from "./pulumiStub.ts";

/** A machine with Pulumi, Docker, kind (which runs `clusters`) and kubectl, less the programs `missing` names. */
export function machine(options: { clusters?: string[]; missing?: string[] } = {}): Machine {
  const programs: Record<string, string> = {
    "pulumi version": "v3.270.0\n",
    "docker info --format {{.ServerVersion}}": "28.2.2\n",
    "kind version": "kind v0.32.0 go1.24.4 linux/amd64\n",
    "kind get clusters": (options.clusters ?? []).map((name) => `${name}\n`).join(""),
    "kubectl version --client": "Client Version: v1.36.1\n",
  };
  return {
    platform: "linux",
    arch: "x64",
    nodeVersion: "v22.23.3",
    run: (command, args): Promise<CommandResult> => {
      if (options.missing?.includes(command)) return Promise.resolve({ found: false, exitCode: null, stdout: "" });
      const git = gitOfHealthyCheckout(command, args);
      if (git) return Promise.resolve(git);
      const stdout = programs[[command, ...args].join(" ")];
      return Promise.resolve(stdout === undefined ? { found: true, exitCode: 1, stdout: "" } : { found: true, exitCode: 0, stdout });
    },
    readFile: () => Promise.resolve(undefined),
    listDirectory: () => Promise.resolve([]),
    portFree: () => Promise.resolve(true),
  };
}

export const stateNotes =
  'gitops: state: local backend .pulumi-state/ (Pulumi.yaml); set PULUMI_BACKEND_URL to use another\ngitops: secrets: demo passphrase "gitops-demo"; set PULUMI_CONFIG_PASSPHRASE to use your own\n';
export const usage = "usage: npm run up -- <env>|--all [--yes] [--no-preflight] [<pulumi options>]   (environments: dev, prod)";

/** The summary table at the end of stdout, with each duration written as XmXXs. */
export const summary = (stdout: string) => stdout.slice(stdout.lastIndexOf("\n\n") + 2).replace(/\d+m\d\ds/g, "XmXXs");
/** Calls that run an operation (not stack selection or the summary's queries), with the event-log port as PORT. */
export const operations = (calls: readonly string[]) =>
  calls
    .filter((call) => /^(up|preview|refresh|destroy) /.test(call))
    .map((call) => call.replace(/tcp:\/\/127\.0\.0\.1:\d+/, "tcp://127.0.0.1:PORT"));

/** How many Pulumi operations the stub has started (each with its signal handlers in place). */
export const startedRuns = (stub: PulumiStub) => stub.times().filter((line) => line.startsWith("start ")).length;

/**
 * Waits for `condition` (read from what a stub writes), however long it takes; fails when the
 * process it waits on ends first.
 */
export async function until(condition: () => boolean, what: string, ended: Promise<unknown>): Promise<void> {
  let done = false;
  void ended.then(() => (done = true));
  while (!condition()) {
    assert.ok(!done, `${what} never happened: the process ended first`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** What each test gets: its own Pulumi stub and project copy, so the tests can run at the same time. */
export interface Fixture {
  readonly stub: PulumiStub;
  readonly project: { root: string; remove(): void };
  /** The stub's record of a stack in a state folder (the project's by default). */
  readonly stackFile: (stack: string, state?: string) => string;
  /** Runs the tool in-process against the stub and the project copy. */
  readonly lifecycle: (
    argv: string[],
    options?: { env?: NodeJS.ProcessEnv; machine?: Machine; confirm?: Io["confirm"]; signals?: Signals },
  ) => Promise<{ code: number; stdout: string; stderr: string }>;
}

/** Runs `test` with a fixture of its own; `runnable`: the project copy can run the tools as processes. */
export function withFixture(test: (fixture: Fixture) => Promise<void> | void, options: { runnable?: boolean } = {}): () => Promise<void> {
  return async () => {
    const stub = createPulumiStub();
    const project = projectCopy({}, options);
    try {
      await test({
        stub,
        project,
        stackFile: (stack, state = path.join(project.root, ".pulumi-state")) => path.join(state, ".pulumi/stacks/gitops", `${stack}.json`),
        lifecycle: async (argv, options = {}) => {
          const io = captureIo({ root: project.root, env: stub.env(options.env), confirm: options.confirm });
          const code = await main(argv, io, {
            machine: options.machine ?? machine(),
            pulumiCommand: stub.pulumiCommand,
            terminal: false,
            // Signals a test sends, never this process's own (many tests run in it at once).
            signals: options.signals ?? new EventEmitter(),
          });
          return { code, stdout: io.out(), stderr: io.err() };
        },
      });
    } finally {
      stub.remove();
      project.remove();
    }
  };
}

// The tests wait on Pulumi stubs, not on the CPU: they run at the same time.
