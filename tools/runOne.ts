// One environment: the Pulumi CLI itself, on this terminal, with its own prompt (`npm run up --
// <env>`). It selects or creates the stack, checks the deploy key it added to GitHub (up,
// destroy: tools/deployKey.ts), keeps the flux2 chart's release of a stack made before Flux
// Operator installed (up: tools/fluxMigration.ts), refreshes first when the kind cluster is
// already gone (destroy), then runs the command; a stop (tools/stopping.ts) lets nothing further start.
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { say, type Io } from "./cli.ts";
import { refreshDeployKey, refreshKeyArgs, type GithubDeployKey } from "./deployKey.ts";
import { retainFlux2Release, type StackState } from "./fluxMigration.ts";
import type { LifecycleCommand } from "./runAll.ts";
import { passesOn, type Signals } from "./stopping.ts";

export interface RunOneOptions {
  readonly io: Io;
  readonly variables: Record<string, string>;
  readonly secretsProvider?: string;
  readonly yes: boolean;
  readonly clusterGone: boolean;
  /** Its kind cluster's name, when it has one. */
  readonly kindCluster?: string;
  /** The deploy key the stack may have added to GitHub, checked before up and destroy. */
  readonly deployKey?: GithubDeployKey;
  readonly forPulumi: readonly string[];
  /** A Ctrl-C reaches Pulumi itself. */
  readonly terminal: boolean;
  readonly signals: Signals;
}

/** Pulumi's exit code for a stack that does not exist (pkg/cmd/pulumi/cmd/exit_codes.go ExitStackNotFound). */
const stackNotFound = 6;
/** A step's answer that the run is complete: nothing further to do. */
const nothingToDo = -1;

/** One environment: the Pulumi CLI itself, on this terminal, with its own prompt. */
export async function runOne(command: LifecycleCommand, stack: string, options: RunOneOptions): Promise<number> {
  const { io } = options;
  const variables = { ...options.variables };
  const unattended = options.yes && command !== "preview" ? ["--yes", "--non-interactive"] : [];
  const session = new PulumiSession(io, variables, options.terminal, options.signals);
  const runPulumi = async (args: readonly string[]) => (await session.run(args)).exitCode;
  /** Each step runs Pulumi once or more and gives its exit code. */
  const steps: (() => Promise<number>)[] = [
    command === "destroy"
      ? // Never created: nothing to destroy (creating it, as `--create` would, only to destroy it is no answer).
        async () => {
          const selected = await session.run(["stack", "select", stack], true);
          if (selected.exitCode !== stackNotFound) {
            if (selected.exitCode !== 0) io.stderr.write(selected.stderr);
            return selected.exitCode;
          }
          say(io.stderr, `gitops: ${stack} has no stack: nothing to destroy`);
          if (options.kindCluster !== undefined && !options.clusterGone) {
            say(
              io.stderr,
              `gitops: the kind cluster ${options.kindCluster} runs without it: kind delete cluster --name ${options.kindCluster} removes it`,
            );
          }
          return nothingToDo;
        }
      : () =>
          runPulumi([
            "stack",
            "select",
            "--create",
            stack,
            ...(options.secretsProvider ? ["--secrets-provider", options.secretsProvider] : []),
          ]),
  ];
  const state = session.state(stack);
  if (command !== "destroy") steps.push(() => retainFlux2Release(stack, command, state, (line) => say(io.stderr, line)));
  const { deployKey } = options;
  if (deployKey && command !== "preview") {
    steps.push(() =>
      refreshDeployKey(deployKey, command, { exportState: state.exportState, refreshKey: () => runPulumi(refreshKeyArgs(stack)) }, (line) =>
        say(io.stderr, line),
      ),
    );
  }
  if (command === "destroy" && options.clusterGone) {
    // The provider would refuse to touch objects of an unreachable cluster; with this it drops them from state.
    variables.PULUMI_K8S_DELETE_UNREACHABLE = "true";
    steps.push(() => {
      say(io.stderr, `gitops: the kind cluster of ${stack} is already gone: refreshing with PULUMI_K8S_DELETE_UNREACHABLE=true first`);
      return runPulumi(["refresh", "--stack", stack, "--yes", "--non-interactive"]);
    });
  }
  steps.push(() => runPulumi([command, "--stack", stack, ...unattended, ...options.forPulumi]));

  try {
    for (const step of steps) {
      const exitCode = await step();
      if (exitCode === nothingToDo) return 0;
      if (exitCode !== 0) return exitCode;
    }
    return 0;
  } finally {
    session.close();
  }
}

/**
 * Pulumi runs on this terminal, one after another. Without handlers, this process would end at
 * the first Ctrl-C and leave Pulumi cancelling (and printing) after the shell's prompt is back:
 * it waits for Pulumi instead, passes on what Pulumi did not get itself (tools/stopping.ts), and
 * starts nothing after a stop (exit 130).
 */
export class PulumiSession {
  private stopped = false;
  private passedOn = false;
  private running: ChildProcess | undefined;
  private readonly onSignal = (signal: NodeJS.Signals) => {
    this.stopped = true;
    if (this.running === undefined || this.passedOn || !passesOn(signal, this.terminal)) return;
    this.passedOn = true;
    this.running.kill("SIGINT");
  };

  private readonly io: Io;
  private readonly variables: Record<string, string>;
  private readonly terminal: boolean;
  private readonly signals: Signals;

  /** `io.env` plus `variables` is Pulumi's environment; `terminal`: a Ctrl-C reaches Pulumi itself. */
  constructor(io: Io, variables: Record<string, string>, terminal: boolean, signals: Signals) {
    this.io = io;
    this.variables = variables;
    this.terminal = terminal;
    this.signals = signals;
    signals.on("SIGINT", this.onSignal);
    signals.on("SIGTERM", this.onSignal);
  }

  /** Runs Pulumi with `args`; `captured`: its standard output is kept for the caller instead of shown. */
  async run(args: readonly string[], captured = false): Promise<{ exitCode: number; stdout: string; stderr: string }> {
    if (this.stopped) return { exitCode: 130, stdout: "", stderr: "" };
    const result = await spawnPulumi(args, { ...this.io.env, ...this.variables }, this.io, captured, (child) => (this.running = child));
    this.running = undefined;
    return result;
  }

  /**
   * A stack's state: `pulumi stack export` (undefined when it cannot be read: no such stack yet),
   * and `pulumi stack import` of a deployment, through a file only this user can read, removed
   * afterwards (its exit code).
   */
  state(stack: string): StackState {
    return {
      exportState: async () => {
        const exported = await this.run(["stack", "export", "--stack", stack], true);
        return exported.exitCode === 0 ? exported.stdout : undefined;
      },
      importState: async (deployment) => {
        const folder = fs.mkdtempSync(path.join(os.tmpdir(), "gitops-state-"));
        try {
          const file = path.join(folder, "deployment.json");
          fs.writeFileSync(file, deployment, { mode: 0o600 });
          return (await this.run(["stack", "import", "--stack", stack, "--file", file])).exitCode;
        } finally {
          fs.rmSync(folder, { recursive: true, force: true });
        }
      },
    };
  }

  close(): void {
    this.signals.off("SIGINT", this.onSignal);
    this.signals.off("SIGTERM", this.onSignal);
  }
}

/**
 * Runs the Pulumi CLI on this terminal, in the project folder (where Pulumi.yaml's relative state
 * folder resolves). Its output goes where the tool's does: the terminal itself, or what a test
 * collects; `captured`: its output is kept for the caller instead.
 */
function spawnPulumi(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  io: Io,
  captured: boolean,
  started: (child: ChildProcess) => void,
): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const onTerminal = io.stdout === process.stdout && io.stderr === process.stderr && !captured;
    const child = spawn("pulumi", args, { cwd: io.root, env, stdio: onTerminal ? "inherit" : ["inherit", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (chunk: Buffer) => (captured ? (stdout += chunk.toString()) : io.stdout.write(chunk.toString())));
    child.stderr?.on("data", (chunk: Buffer) => (captured ? (stderr += chunk.toString()) : io.stderr.write(chunk.toString())));
    started(child);
    child.on("error", (error) => {
      say(io.stderr, `gitops: could not run pulumi: ${error.message}`);
      resolve({ exitCode: 1, stdout, stderr });
    });
    child.on("close", (code, signal) => resolve({ exitCode: code ?? (signal ? 130 : 1), stdout, stderr }));
  });
}
