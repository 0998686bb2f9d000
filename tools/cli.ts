// What every command-line tool of the project shares: `main(argv, io)` does the work and
// returns the exit code, so tests call it in-process; `runMain` wires it to this process.
import * as readline from "node:readline";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { projectRoot } from "../infra/settings/index.ts";

/** A stream a tool writes to. */
export interface Output {
  write(text: string): unknown;
}

/** Everything a tool takes from, and gives to, the world around it. */
export interface Io {
  /** What the command produces (YAML, a table). */
  readonly stdout: Output;
  /** Progress, notes and errors. */
  readonly stderr: Output;
  readonly env: NodeJS.ProcessEnv;
  /** The project folder the tool works on. */
  readonly root: string;
  /** Asks a yes/no question; undefined when nobody can answer (no terminal). */
  readonly confirm?: (question: string) => Promise<boolean>;
}

/** This process: its streams, environment and terminal. */
export function processIo(): Io {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    root: projectRoot,
    confirm: process.stdin.isTTY ? askOnTerminal : undefined,
  };
}

async function askOnTerminal(question: string): Promise<boolean> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  const answer = await new Promise<string>((resolve) => rl.question(`${question} [y/N] `, resolve));
  rl.close();
  return /^y(es)?$/i.test(answer.trim());
}

/** Writes one line. */
export const say = (output: Output, line: string) => output.write(`${line}\n`);

/** A command-line mistake: the message names what is wrong; the caller prints usage and exits 2. */
export class UsageError extends Error {}

/** A failure the user can act on: its message says what to do; printed as one line, then exit `exitCode`. */
export class ToolError extends Error {
  readonly exitCode: number;

  constructor(message: string, exitCode = 1) {
    super(message);
    this.exitCode = exitCode;
  }
}

/** Prints a ToolError as one line and gives its exit code; anything else is a bug and is thrown on. */
export function reported(error: unknown, io: Pick<Io, "stderr">): number {
  if (!(error instanceof ToolError)) throw error;
  say(io.stderr, `gitops: ${error.message}`);
  return error.exitCode;
}

/**
 * node:util's parseArgs with the project's conventions: `--help` is always understood, and a
 * bad option is a UsageError naming it.
 */
export function parseCommandLine<T extends NonNullable<ParseArgsConfig["options"]>>(
  argv: readonly string[],
  options: T,
  allowPositionals = true,
) {
  try {
    return parseArgs({ args: [...argv], options: { ...options, help: { type: "boolean", short: "h" } }, allowPositionals, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** The one environment a command line names; a UsageError otherwise. */
export function theEnvironment(positionals: readonly string[]): string {
  if (positionals.length === 1) return positionals[0]!;
  throw new UsageError(positionals.length === 0 ? "which environment?" : `one environment, not ${positionals.join(" ")}`);
}

/** Runs a tool's main for this process: its number is the exit code; an unexpected error (a bug to report) is printed with its stack, exit 1. */
export function runMain(main: (argv: string[], io: Io) => Promise<number>): void {
  // process.exit, not exitCode: a handle the Automation API leaves open must not keep the tool alive.
  main(process.argv.slice(2), processIo()).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
