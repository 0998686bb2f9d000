// `--all`: every environment at once through Pulumi's Automation API. Each environment's output
// is printed line by line behind its name; the summary comes from Pulumi's own results, not
// from scraping its output. One failing environment does not stop the others.
import {
  CommandError,
  LocalWorkspace,
  StackNotFoundError,
  type Deployment,
  type OpMap,
  type PulumiCommand,
  type Stack,
} from "@pulumi/pulumi/automation/index.js";
import { say, type Io } from "./cli.ts";
import { deployKeyTarget, refreshDeployKey, type GithubDeployKey } from "./deployKey.ts";
import { retainFlux2Release } from "./fluxMigration.ts";
import type { Stopping } from "./stopping.ts";

export type LifecycleCommand = "up" | "preview" | "destroy";

export interface EnvironmentRun {
  readonly name: string;
  /** Its kind cluster is already gone: refresh (dropping what was in it) before destroying. */
  readonly clusterGone?: boolean;
  /** The deploy key its stack may have added to GitHub, checked before up and destroy (tools/deployKey.ts). */
  readonly deployKey?: GithubDeployKey;
}

export interface EnvironmentResult {
  readonly env: string;
  readonly exitCode: number;
  readonly seconds: number;
  /** Resources created, updated, replaced or deleted (or, for a preview, that would be). */
  readonly changed?: number;
  /** Stopped: Pulumi said it was cancelling, or the stop came before it started. */
  readonly interrupted?: boolean;
}

/** The Pulumi options `--all` passes on, as the Automation API takes them. */
export interface OperationOptions {
  readonly diff?: boolean;
  readonly refresh?: boolean;
  readonly target?: string[];
  readonly parallel?: number;
  readonly expectNoChanges?: boolean;
}

export interface RunAllOptions {
  readonly io: Io;
  readonly root: string;
  /** Added to the user's environment for every Pulumi run. */
  readonly variables: Record<string, string>;
  /** Secrets provider of a stack created now. */
  readonly secretsProvider?: string;
  readonly operation: OperationOptions;
  readonly pulumiCommand: PulumiCommand;
  /** Once requested, no operation starts; passed on, each running Pulumi gets one SIGINT. */
  readonly stopping: Stopping;
}

/** Sum of what Pulumi changed, from its summary: every operation but "same". */
export function changedCount(changes: OpMap | undefined): number | undefined {
  if (changes === undefined) return undefined;
  return Object.entries(changes)
    .filter(([operation]) => operation !== "same")
    .reduce((sum, [, count]) => sum + (count ?? 0), 0);
}

/**
 * Pulumi's exit code from an Automation API error; 1 when it has none. The Automation API reports
 * a command that exited non-zero as "code: -2" (its "unknown" code: execa rejected), followed by
 * execa's "Command failed with exit code N: ..." (automation/cmd.js exec).
 */
export function exitCodeOf(error: unknown): number {
  if (!(error instanceof CommandError)) return 1;
  const code = Number(/^code: (-?\d+)/.exec(error.message)?.[1]);
  const exited = Number(/Command failed with exit code (\d+)/.exec(error.message)?.[1]);
  return code > 0 ? code : exited > 0 ? exited : 1;
}

/**
 * What Pulumi said went wrong: its "error:" lines, once each, without the Automation API's wrapping
 * (which repeats them among its own fields); else the error's first line.
 */
export function pulumiErrors(error: unknown): string[] {
  const message = error instanceof Error ? error.message : String(error);
  const lines = [...new Set(message.split("\n").filter((line) => line.startsWith("error: ")))];
  return lines.length > 0 ? lines : [message.split("\n")[0]!];
}

/** The variables of an environment that have a value (the Automation API takes only strings). */
function definedVariables(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

/** Splits chunks of output into lines and prints each behind `prefix`. */
function lineWriter(write: (line: string) => void, prefix: string) {
  let pending = "";
  return {
    // Arrow functions: `chunk` is handed to the Automation API on its own.
    chunk: (text: string) => {
      pending += text;
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) write(`${prefix}${line}`);
    },
    flush: () => {
      if (pending !== "") write(`${prefix}${pending}`);
      pending = "";
    },
  };
}

/** Runs `command` for every environment in parallel; stacks are selected (or created) one after another first. */
export async function runAll(
  command: LifecycleCommand,
  environments: readonly EnvironmentRun[],
  options: RunAllOptions,
): Promise<EnvironmentResult[]> {
  const { io } = options;
  const width = Math.max(...environments.map((environment) => environment.name.length));
  const prefix = (env: string) => `[${env.padEnd(width)}] `;

  // `stack select` writes the workspace file: one environment after another.
  const stacks = new Map<string, Stack | EnvironmentResult>();
  for (const { name, clusterGone } of environments) {
    try {
      // The whole of io.env, as a single environment's Pulumi run gets it: the Automation API
      // otherwise passes only these variables on top of this process's own environment.
      const envVars = { ...definedVariables(io.env), ...options.variables, ...(clusterGone && { PULUMI_K8S_DELETE_UNREACHABLE: "true" }) };
      const workspace = {
        envVars,
        pulumiCommand: options.pulumiCommand,
        ...(options.secretsProvider && { secretsProvider: options.secretsProvider }),
      };
      // A stack never created has nothing to destroy: it is not created for it.
      const stack =
        command === "destroy"
          ? await LocalWorkspace.selectStack({ stackName: name, workDir: options.root }, workspace)
          : await LocalWorkspace.createOrSelectStack({ stackName: name, workDir: options.root }, workspace);
      stacks.set(name, stack);
    } catch (error) {
      if (command === "destroy" && error instanceof StackNotFoundError) {
        say(io.stderr, `${prefix(name)}gitops: ${name} has no stack: nothing to destroy`);
        stacks.set(name, { env: name, exitCode: 0, seconds: 0, changed: 0 });
        continue;
      }
      say(io.stderr, `${prefix(name)}gitops: could not select or create stack ${name}:`);
      pulumiErrors(error).forEach((line) => say(io.stderr, `${prefix(name)}${line}`));
      stacks.set(name, { env: name, exitCode: exitCodeOf(error), seconds: 0 });
    }
  }

  return Promise.all(
    environments.map(async ({ name, clusterGone, deployKey }) => {
      const stack = stacks.get(name)!;
      if (!("workspace" in stack)) return stack;
      const started = Date.now();
      const out = lineWriter((line) => say(io.stdout, line), prefix(name));
      const err = lineWriter((line) => say(io.stdout, line), prefix(name));
      let interrupted = false;
      /** One Pulumi operation with this environment's streams; none starts once a stop is requested. */
      const operate = async <T>(
        run: (streams: { onOutput(text: string): void; onError(text: string): void; signal: AbortSignal }) => Promise<T>,
      ) => {
        if (options.stopping.requested) {
          interrupted = true;
          throw new Error("stopped before it started");
        }
        const { operation, finished } = options.stopping.begin();
        try {
          return await run({
            onOutput: (text) => (operation.output(text), out.chunk(text)),
            onError: (text) => (operation.output(text), err.chunk(text)),
            signal: operation.signal,
          });
        } finally {
          finished();
          interrupted ||= operation.cancelling;
        }
      };
      try {
        let changed: number | undefined;
        const exportState = async () => JSON.stringify(await stack.exportStack());
        if (command !== "destroy") {
          const exitCode = await retainFlux2Release(
            name,
            command,
            {
              exportState,
              importState: (deployment) => stack.importStack(JSON.parse(deployment) as Deployment).then(() => 0, exitCodeOf),
            },
            (line) => say(io.stderr, `${prefix(name)}${line}`),
          );
          if (exitCode !== 0) return { env: name, exitCode, seconds: (Date.now() - started) / 1000, interrupted };
        }
        if (deployKey && command !== "preview") {
          const exitCode = await refreshDeployKey(
            deployKey,
            command,
            {
              exportState,
              refreshKey: () =>
                operate((streams) => stack.refresh({ target: [deployKeyTarget], runProgram: true, ...streams })).then(() => 0, exitCodeOf),
            },
            (line) => say(io.stderr, `${prefix(name)}${line}`),
          );
          if (exitCode !== 0) return { env: name, exitCode, seconds: (Date.now() - started) / 1000, interrupted };
        }
        if (command === "preview") {
          changed = changedCount((await operate((streams) => stack.preview({ ...options.operation, ...streams }))).changeSummary);
        } else if (command === "up") {
          changed = changedCount((await operate((streams) => stack.up({ ...options.operation, ...streams }))).summary.resourceChanges);
        } else {
          if (clusterGone) {
            say(
              io.stderr,
              `${prefix(name)}gitops: the kind cluster of ${name} is already gone: refreshing with PULUMI_K8S_DELETE_UNREACHABLE=true first`,
            );
            await operate((streams) => stack.refresh(streams));
          }
          const destroyed = await operate((streams) => stack.destroy({ ...options.operation, ...streams }));
          changed = changedCount(destroyed.summary.resourceChanges);
        }
        return { env: name, exitCode: 0, seconds: (Date.now() - started) / 1000, changed, interrupted };
      } catch (error) {
        return { env: name, exitCode: exitCodeOf(error), seconds: (Date.now() - started) / 1000, interrupted };
      } finally {
        out.flush();
        err.flush();
      }
    }),
  );
}

/** 192.4 → 3m12s; rounded to the second first, so 59.6 is 1m00s, not 0m60s. */
const minutesAndSeconds = (seconds: number) => {
  const rounded = Math.round(seconds);
  return `${Math.floor(rounded / 60)}m${String(rounded % 60).padStart(2, "0")}s`;
};

export function summaryTable(results: readonly EnvironmentResult[]): string {
  const rows = [
    ["environment", "result", "duration", "resources changed"],
    ...results.map((result) => [
      result.env,
      result.exitCode === 0 ? "ok" : result.interrupted ? "interrupted" : `failed (exit ${result.exitCode})`,
      minutesAndSeconds(result.seconds),
      result.changed === undefined ? "-" : String(result.changed),
    ]),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column]!))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}
