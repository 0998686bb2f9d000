// npm run up|preview|destroy -- <env>|--all [--yes] [--no-preflight] [pulumi options...]
// Runs Pulumi for environments' stacks with the project's defaults (tools/pulumiDefaults.ts),
// each stack created on first use. One environment runs the Pulumi CLI itself, with its own
// prompt; --all runs every environment in parallel (tools/runAll.ts), then a summary.
import * as fs from "node:fs";
import { parseArgs } from "node:util";
import { PulumiCommand } from "@pulumi/pulumi/automation/index.js";
import { runMain, say, type Io } from "./cli.ts";
import { githubDeployKey } from "./deployKey.ts";
import { runPreflight } from "./doctor.ts";
import {
  clashes,
  EnvironmentError,
  listEnvironments,
  loadEnvironment,
  unknownEnvironments,
  validEnvironments,
  type Environment,
} from "./environments.ts";
import { kindClusters, localMachine, type Machine } from "./machine.ts";
import { ensurePulumiCli, pulumiCli, withPulumiCli, type PulumiInstaller } from "./pulumiCli.ts";
import { publicPassphraseProblems, pulumiDefaults } from "./pulumiDefaults.ts";
import { runAll, summaryTable, type EnvironmentResult, type LifecycleCommand, type OperationOptions } from "./runAll.ts";
import { runOne } from "./runOne.ts";
import { hasControllingTerminal, Stopping, type Signals } from "./stopping.ts";

const commands: readonly LifecycleCommand[] = ["up", "preview", "destroy"];
const usage = (command: string, root: string) =>
  `usage: npm run ${command} -- <env>|--all [--yes] [--no-preflight] [pulumi options]   (environments: ${listEnvironments(root).join(", ")})`;

export interface LifecycleDependencies {
  /** What the checks and cluster probes look at. */
  readonly machine?: Machine;
  /** The Pulumi CLI the Automation API runs for --all. */
  readonly pulumiCommand?: () => Promise<PulumiCommand>;
  /**
   * Puts the project's Pulumi CLI in place when it is not there yet.
   * @default downloadPulumi (get.pulumi.com)
   */
  readonly installPulumi?: PulumiInstaller;
  /**
   * Whether a Ctrl-C reaches Pulumi itself (this process has a controlling terminal).
   * @default hasControllingTerminal()
   */
  readonly terminal?: boolean;
  /**
   * Where SIGINT and SIGTERM arrive.
   * @default process
   */
  readonly signals?: Signals;
}

/** The command line: our own flags, the environment, and the rest for Pulumi, in their order. */
export function readCommandLine(argv: readonly string[]) {
  const { values, tokens } = parseArgs({
    args: [...argv],
    options: {
      all: { type: "boolean" },
      yes: { type: "boolean" },
      "no-preflight": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    allowPositionals: true,
    strict: false,
    tokens: true,
  });
  const ours = new Set(["all", "yes", "no-preflight", "help"]);
  let env: string | undefined;
  const forPulumi: string[] = [];
  let afterTerminator = false;
  for (const token of tokens) {
    if (token.kind === "option-terminator") afterTerminator = true;
    else if (token.kind === "option" && !afterTerminator && ours.has(token.name)) continue;
    else if (token.kind === "option") forPulumi.push(token.inlineValue ? `${token.rawName}=${token.value}` : token.rawName);
    else if (env === undefined && !values.all && !afterTerminator) env = token.value;
    else forPulumi.push(token.value);
  }
  return {
    all: values.all === true,
    yes: values.yes === true,
    preflight: values["no-preflight"] !== true,
    help: values.help === true,
    env,
    forPulumi,
  };
}

/** Pulumi options --all understands (the Automation API takes named options, not a command line). */
export function operationOptions(args: readonly string[]): OperationOptions | { unsupported: string } {
  const options: { diff?: boolean; refresh?: boolean; target?: string[]; parallel?: number; expectNoChanges?: boolean } = {};
  for (let index = 0; index < args.length; index++) {
    const [name, inline] = args[index]!.split(/=(.*)/s, 2) as [string, string | undefined];
    const value = () => inline ?? args[++index];
    if (name === "--diff") options.diff = true;
    else if (name === "--refresh") options.refresh = true;
    else if (name === "--expect-no-changes") options.expectNoChanges = true;
    else if (name === "--target" || name === "-t") options.target = [...(options.target ?? []), value() ?? ""];
    else if (name === "--parallel" || name === "-p") options.parallel = Number(value());
    else return { unsupported: args[index]! };
  }
  return options;
}

export async function main(argv: readonly string[], io: Io, dependencies: LifecycleDependencies = {}): Promise<number> {
  const [command = "", ...rest] = argv;
  const line = readCommandLine(rest);
  if (line.help && commands.includes(command as LifecycleCommand)) {
    say(io.stdout, usage(command, io.root));
    return 0;
  }
  if (!commands.includes(command as LifecycleCommand) || (!line.all && line.env === undefined) || line.env?.startsWith("-")) {
    say(io.stderr, usage(command || "up", io.root));
    return 2;
  }
  const lifecycle = command as LifecycleCommand;
  const names = line.all ? listEnvironments(io.root) : [line.env!];
  const unknown = unknownEnvironments(names, io.root);
  if (unknown.length > 0) {
    say(io.stderr, `gitops: ${unknown.join("\ngitops: ")}\n${usage(lifecycle, io.root)}`);
    return 2;
  }
  const operation = line.all ? operationOptions(line.forPulumi) : {};
  if ("unsupported" in operation) {
    say(
      io.stderr,
      `gitops: ${operation.unsupported} is not passed on with --all (it takes --diff, --refresh, --target, --parallel, --expect-no-changes); run one environment for other Pulumi options`,
    );
    return 2;
  }

  // Invalid settings stop one environment; with --all, that one is reported failed and the others run.
  const environments: Environment[] = [];
  const invalid: EnvironmentResult[] = [];
  for (const name of names) {
    try {
      environments.push(loadEnvironment(name, io.root));
    } catch (error) {
      if (!(error instanceof EnvironmentError)) throw error;
      say(io.stderr, `gitops: ${error.message}`);
      if (!line.all) return error.exitCode;
      invalid.push({ env: name, exitCode: error.exitCode, seconds: 0 });
    }
  }
  for (const environment of environments)
    for (const warning of environment.warnings) say(io.stderr, `gitops: warning: ${environment.name}: ${warning}`);
  // Two environments on one cluster name or host port would fight (and kind's "already exists"
  // hint would then name the other one's cluster). One environment is checked against the rest.
  const blocking = line.all
    ? clashes(environments)
    : clashes([...environments, ...validEnvironments(io.root).filter((other) => other.name !== names[0])]).filter(
        (clash) => clash.over === "cluster" && clash.between.includes(names[0]!),
      );
  if (blocking.length > 0) {
    blocking.forEach((clash) => say(io.stderr, `gitops: ${clash.message}`));
    return 1;
  }
  const exposed = publicPassphraseProblems(
    environments.map((environment) => environment.config),
    io.env,
  );
  if (exposed.length > 0) {
    exposed.forEach((problem) => say(io.stderr, `gitops: ${problem}`));
    return 2;
  }
  // The project's own CLI, first on PATH for everything this run starts (tools/pulumiCli.ts).
  const pulumi = pulumiCli(io.env);
  const withCli: Io = { ...io, env: withPulumiCli(io.env, pulumi) };
  const machine = dependencies.machine ?? localMachine(undefined, withCli.env);
  if (line.preflight && !(await runPreflight(environments, lifecycle, io, machine, pulumi))) {
    say(io.stderr, "gitops: fix the problems above first (or pass --no-preflight to run anyway)");
    return 1;
  }
  const notReady = await ensurePulumiCli(pulumi, (line) => say(io.stderr, line), dependencies.installPulumi);
  if (notReady !== undefined) {
    say(io.stderr, `gitops: ${notReady}`);
    return 127;
  }

  const defaults = pulumiDefaults(io.root, io.env);
  const terminal = dependencies.terminal ?? hasControllingTerminal();
  const signals = dependencies.signals ?? process;
  if (defaults.stateDirectory) fs.mkdirSync(defaults.stateDirectory, { recursive: true });
  const running = lifecycle === "destroy" ? await kindClusters(machine) : undefined;
  const clusterGone = ({ settings }: Environment) =>
    running !== undefined && settings.cluster.kind === "kind" && !running.includes(settings.cluster.name);

  if (!line.all) {
    const environment = environments[0]!;
    defaults.notes.forEach((note) => say(io.stderr, `gitops: ${note}`));
    return runOne(lifecycle, environment.name, {
      io: withCli,
      variables: defaults.variables,
      secretsProvider: defaults.secretsProvider,
      yes: line.yes,
      clusterGone: clusterGone(environment),
      deployKey: githubDeployKey(environment.settings),
      forPulumi: line.forPulumi,
      terminal,
      signals,
    });
  }

  // --all cannot prompt in parallel: it asks once here.
  if (lifecycle !== "preview" && !line.yes) {
    if (!io.confirm) {
      say(io.stderr, `gitops: ${lifecycle} --all needs --yes when not run from a terminal`);
      return 2;
    }
    const what = lifecycle === "destroy" ? "Destroy (deletes the kind clusters and everything in them)" : "Update";
    if (!(await io.confirm(`${what}: ${names.join(", ")}?`))) {
      say(io.stderr, "gitops: nothing done");
      return 1;
    }
  }
  defaults.notes.forEach((note) => say(io.stderr, `gitops: ${note}`));

  // A terminal's Ctrl-C reaches every Pulumi run itself (tools/stopping.ts); any other signal
  // is passed on once, so each run stops cleanly. Either way no further run starts.
  const stopping = new Stopping();
  const stopListening = stopping.listen(signals, terminal, (_signal, passOn) =>
    say(
      io.stderr,
      passOn
        ? "\ngitops: asked to stop; stopping each Pulumi run cleanly"
        : "\ngitops: stopping; waiting for Pulumi to finish cleanly (Ctrl-C again forces it)",
    ),
  );
  try {
    const pulumiCommand = await (dependencies.pulumiCommand ?? (() => PulumiCommand.get({ root: pulumi.root })))();
    const results = await runAll(
      lifecycle,
      environments.map((environment) => ({
        name: environment.name,
        clusterGone: clusterGone(environment),
        deployKey: githubDeployKey(environment.settings),
      })),
      {
        io: withCli,
        root: io.root,
        variables: defaults.variables,
        secretsProvider: defaults.secretsProvider,
        operation,
        pulumiCommand,
        stopping,
      },
    );
    const all = [...results, ...invalid];
    say(io.stdout, `\n${summaryTable(all)}`);
    return all.some((result) => result.exitCode !== 0) ? 1 : 0;
  } finally {
    stopListening();
  }
}

if (import.meta.main) runMain(main);
