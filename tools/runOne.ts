// One environment: the Pulumi CLI itself, on this terminal, with its own prompt (`npm run up --
// <env>`). It selects or creates the stack, refreshes first when the kind cluster is already
// gone (destroy), then runs the command; a stop (tools/stopping.ts) lets nothing further start.
import { spawn, type ChildProcess } from "node:child_process";
import { say, type Io } from "./cli.ts";
import type { LifecycleCommand } from "./runAll.ts";
import { passesOn, type Signals } from "./stopping.ts";

export interface RunOneOptions {
  readonly io: Io;
  readonly variables: Record<string, string>;
  readonly secretsProvider?: string;
  readonly yes: boolean;
  readonly clusterGone: boolean;
  readonly forPulumi: readonly string[];
  /** A Ctrl-C reaches Pulumi itself. */
  readonly terminal: boolean;
  readonly signals: Signals;
}

/** One environment: the Pulumi CLI itself, on this terminal, with its own prompt. */
export async function runOne(command: LifecycleCommand, stack: string, options: RunOneOptions): Promise<number> {
  const { io } = options;
  const variables = { ...options.variables };
  const unattended = options.yes && command !== "preview" ? ["--yes", "--non-interactive"] : [];
  const invocations: string[][] = [
    ["stack", "select", "--create", stack, ...(options.secretsProvider ? ["--secrets-provider", options.secretsProvider] : [])],
  ];
  if (command === "destroy" && options.clusterGone) {
    // The provider would refuse to touch objects of an unreachable cluster; with this it drops them from state.
    variables.PULUMI_K8S_DELETE_UNREACHABLE = "true";
    say(io.stderr, `gitops: the kind cluster of ${stack} is already gone: refreshing with PULUMI_K8S_DELETE_UNREACHABLE=true first`);
    invocations.push(["refresh", "--stack", stack, "--yes", "--non-interactive"]);
  }
  invocations.push([command, "--stack", stack, ...unattended, ...options.forPulumi]);

  // Without handlers, this process would end at the first Ctrl-C and leave Pulumi cancelling
  // (and printing) after the shell's prompt is back: it waits for Pulumi instead, passes on
  // what Pulumi did not get itself (tools/stopping.ts), and starts nothing after a stop.
  let stopped = false;
  let passedOn = false;
  let running: ChildProcess | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    stopped = true;
    if (running === undefined || passedOn || !passesOn(signal, options.terminal)) return;
    passedOn = true;
    running.kill("SIGINT");
  };
  options.signals.on("SIGINT", onSignal);
  options.signals.on("SIGTERM", onSignal);
  try {
    for (const args of invocations) {
      if (stopped) return 130;
      const exitCode = await runPulumi(args, { ...io.env, ...variables }, io, (child) => (running = child));
      running = undefined;
      if (exitCode !== 0) return exitCode;
    }
    return 0;
  } finally {
    options.signals.off("SIGINT", onSignal);
    options.signals.off("SIGTERM", onSignal);
  }
}

/**
 * Runs the Pulumi CLI on this terminal, in the project folder (where Pulumi.yaml's relative state
 * folder resolves). Its output goes where the tool's does: the terminal itself, or what a test collects.
 */
function runPulumi(args: readonly string[], env: NodeJS.ProcessEnv, io: Io, started: (child: ChildProcess) => void): Promise<number> {
  return new Promise((resolve) => {
    const onTerminal = io.stdout === process.stdout && io.stderr === process.stderr;
    const child = spawn("pulumi", args, { cwd: io.root, env, stdio: onTerminal ? "inherit" : ["inherit", "pipe", "pipe"] });
    child.stdout?.on("data", (chunk: Buffer) => io.stdout.write(chunk.toString()));
    child.stderr?.on("data", (chunk: Buffer) => io.stderr.write(chunk.toString()));
    started(child);
    child.on("error", (error) => {
      say(io.stderr, `gitops: could not run pulumi: ${error.message}`);
      resolve(1);
    });
    child.on("close", (code, signal) => resolve(code ?? (signal ? 130 : 1)));
  });
}
