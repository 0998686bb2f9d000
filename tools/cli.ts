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

/** What a tool says of itself: its `--help`, and the usage line its command-line errors end with. */
export interface ToolHelp {
  /** The npm script: `npm run <command>`. */
  readonly command: string;
  /** What it does, in a sentence. */
  readonly summary: string;
  /** Its arguments, as the usage line writes them: `<env>`, `<env>...|--all`. */
  readonly arguments: string;
  /** Each option as written (`--out DIR`) and what it does. */
  readonly options: readonly (readonly [string, string])[];
  /** At least two command lines a user would type. */
  readonly examples: readonly string[];
  /** Whether the usage line lists the project's environments (the tool takes some). */
  readonly takesEnvironments: boolean;
}

/** The one-line usage: `usage: npm run render -- <env> [--out DIR]   (environments: dev, prod)`. */
export function usageLine(help: ToolHelp, environments: readonly string[] = []): string {
  const words = ["usage: npm run", help.command, "--", help.arguments, ...help.options.map(([option]) => `[${option}]`)];
  const listed = help.takesEnvironments && environments.length > 0 ? `   (environments: ${environments.join(", ")})` : "";
  return `${words.filter((word) => word !== "").join(" ")}${listed}`;
}

/** The whole `--help`: usage, what it does, its options and examples. */
export function helpText(help: ToolHelp, environments: readonly string[] = []): string {
  const width = Math.max(0, ...help.options.map(([option]) => option.length));
  return [
    usageLine(help, environments),
    "",
    help.summary,
    ...(help.options.length > 0 ? ["", "options:", ...help.options.map(([option, text]) => `  ${option.padEnd(width)}  ${text}`)] : []),
    "",
    "examples:",
    ...help.examples.map((example) => `  ${example}`),
  ].join("\n");
}

/**
 * Options of `flags` that npm took for itself because the `--` was forgotten (`npm run up --all`):
 * npm keeps them as its own configuration and hands them to the script as npm_config_<name>
 * (`--no-x` as an empty npm_config_x), and the tool never sees them.
 */
export function takenByNpm(env: NodeJS.ProcessEnv, flags: readonly string[]): string[] {
  return flags.filter((flag) => {
    const negated = flag.startsWith("no-");
    const value = env[`npm_config_${(negated ? flag.slice(3) : flag).replace(/-/g, "_")}`];
    return negated ? value === "" : value === "true";
  });
}

/** Prints a command-line mistake, the usage line, and a hint when npm took the tool's options; exit 2. */
export function usageFailure(io: Io, help: ToolHelp, message: string, environments: readonly string[] = []): 2 {
  const flags = [...`${help.arguments} ${help.options.map(([option]) => option).join(" ")}`.matchAll(/--([a-z][a-z-]*)/g)].map(
    (match) => match[1]!,
  );
  const taken = takenByNpm(io.env, flags);
  const hint =
    taken.length > 0
      ? `\ngitops: npm took ${taken.map((flag) => `--${flag}`).join(" ")} for itself: put the tool's options after --, as in npm run ${help.command} -- ${help.takesEnvironments && !taken.includes("all") ? "<env> " : ""}${taken.map((flag) => `--${flag}`).join(" ")}`
      : "";
  say(io.stderr, `gitops: ${message}${hint}\n${usageLine(help, environments)}`);
  return 2;
}

/**
 * node:util's parseArgs with the project's conventions: `--help` is always understood, and a
 * bad option is a UsageError in the project's words (Node's own messages explain its API).
 */
export function parseCommandLine<T extends NonNullable<ParseArgsConfig["options"]>>(
  argv: readonly string[],
  options: T,
  allowPositionals = true,
) {
  try {
    return parseArgs({ args: [...argv], options: { ...options, help: { type: "boolean", short: "h" } }, allowPositionals, strict: true });
  } catch (error) {
    const { code, message } = error as { code?: string; message: string };
    const named = /'([^' ]+)/.exec(message)?.[1] ?? "";
    if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") throw new UsageError(`unknown option ${named}`);
    if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
      throw new UsageError(message.includes("does not take an argument") ? `${named} takes no value` : `${named} needs a value`);
    }
    if (code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") throw new UsageError(`unexpected argument ${named}: it takes options only`);
    throw new UsageError(message);
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
