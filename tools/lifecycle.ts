// npm run up|preview|destroy -- <env>|--all [--yes] [--no-preflight] [pulumi options...]
// Runs Pulumi for environments' stacks with the project's defaults (tools/pulumiDefaults.ts),
// each stack created on first use. One environment runs the Pulumi CLI itself, with its own
// prompt; --all runs every environment in parallel (tools/runAll.ts), then a summary.
import * as fs from "node:fs";
import { parseArgs } from "node:util";
import { PulumiCommand } from "@pulumi/pulumi/automation/index.js";
import { helpText, runMain, say, usageFailure, type Io, type ToolHelp } from "./cli.ts";
import { githubDeployKey } from "./deployKey.ts";
import { unmergedWarning, unpulledCommit, unpulledWarning } from "./gitServer.ts";
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
const what: Record<LifecycleCommand, { summary: string; examples: string[] }> = {
  up: {
    summary:
      "Creates or updates one environment (or every one, at the same time, with --all): its kind cluster, Flux, the server and Prometheus. Pulumi shows the plan and asks first, unless --yes.",
    examples: ["npm run up -- dev", "npm run up -- --all --yes"],
  },
  preview: {
    summary: "Shows what npm run up would change in one environment (or every one, with --all), changing nothing.",
    examples: ["npm run preview -- dev", "npm run preview -- prod --diff"],
  },
  destroy: {
    summary:
      "Deletes one environment (or every one, with --all): its kind cluster with everything in it, and what the stack added outside it (a deploy key on GitHub). Pulumi asks first, unless --yes.",
    examples: ["npm run destroy -- dev", "npm run destroy -- --all --yes"],
  },
};

/** The help of up, preview or destroy. */
export function lifecycleHelp(command: LifecycleCommand): ToolHelp {
  return {
    command,
    summary: what[command].summary,
    arguments: "<env>|--all",
    options: [
      ...(command === "preview" ? [] : ([["--yes", "do not ask; run unattended"]] as const)),
      ["--no-preflight", "skip the machine checks (npm run doctor) that run first"],
      ["<pulumi options>", `passed on to pulumi ${command} (with --all only --diff, --refresh, --target, --parallel, --expect-no-changes)`],
    ],
    examples: what[command].examples,
    takesEnvironments: true,
  };
}

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

/**
 * Pulumi's options of up, preview and destroy that take a value as the next word (`--target URN`),
 * so that word is not taken for a second environment (pkg/cmd/pulumi/operations/*.go and the
 * root command's, read at v3.259.0).
 */
const pulumiOptionsWithValue = new Set(
  (
    "--stack -s --config-file --client --exec-kind --exec-agent --event-log --message -m --parallel -p --target -t " +
    "--exclude -x --config -c --replace --target-replace --policy-pack --policy-pack-config --attach-debugger --plan " +
    "--save-plan --import-file --secrets-provider --color --cwd -C --memprofilerate --otel-traces --profiling --tracing " +
    "--tracing-header --verbose -v --output"
  ).split(" "),
);
const isPulumiValue = (option: string) => pulumiOptionsWithValue.has(option);

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
  const extra: string[] = [];
  const forPulumi: string[] = [];
  // Options go to Pulumi as written: parseArgs splits a short cluster (-v9, -p8) into one token a letter.
  const passed = new Set<number>();
  let afterTerminator = false;
  for (const token of tokens) {
    if (token.kind === "option-terminator") afterTerminator = true;
    else if (token.kind === "option" && !afterTerminator && ours.has(token.name)) continue;
    else if (token.kind === "option") {
      if (!passed.has(token.index)) forPulumi.push(argv[token.index]!);
      passed.add(token.index);
    } else if (afterTerminator) forPulumi.push(token.value);
    // A word right after an option that takes a value (--target URN) is that value.
    else if (forPulumi.length > 0 && isPulumiValue(forPulumi.at(-1)!)) forPulumi.push(token.value);
    else if (env === undefined) env = token.value;
    else extra.push(token.value);
  }
  return {
    all: values.all === true,
    yes: values.yes === true,
    preflight: values["no-preflight"] !== true,
    help: values.help === true,
    env,
    /** Words beyond the environment, before any `--`: a mistake (`up -- dev prod`). */
    extra,
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
  if (!commands.includes(command as LifecycleCommand))
    throw new Error(`tools/lifecycle.ts runs up, preview or destroy, not ${JSON.stringify(command)}`);
  const lifecycle = command as LifecycleCommand;
  const help = lifecycleHelp(lifecycle);
  const environmentNames = listEnvironments(io.root);
  const line = readCommandLine(rest);
  if (line.help) {
    say(io.stdout, helpText(help, environmentNames));
    return 0;
  }
  const refuse = (message: string) => usageFailure(io, help, message, environmentNames);
  if (line.all && line.env !== undefined) return refuse(`--all or an environment, not both (${line.env})`);
  if (!line.all && line.env === undefined) return refuse("which environment? (or --all for every one)");
  if (line.extra.length > 0) {
    return refuse(`one environment, not ${[line.env, ...line.extra].join(" ")}: npm run ${lifecycle} -- --all runs every one at once`);
  }
  const names = line.all ? environmentNames : [line.env!];
  const unknown = unknownEnvironments(names, io.root);
  if (unknown.length > 0) return refuse(unknown.join("\ngitops: "));
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
    // The settings' own warnings are the program's: Pulumi shows them once, among its diagnostics.
    for (const warning of environment.config.warnings) say(io.stderr, `gitops: warning: ${environment.name}: ${warning}`);
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
  // What the local Git server holds that this checkout lacks: destroy deletes it, up leaves it out.
  if (lifecycle !== "preview") {
    for (const environment of environments) {
      const merged = lifecycle === "up";
      const unpulled = await unpulledCommit(environment.settings, io.root, machine, { merged });
      if (unpulled !== undefined) say(io.stderr, merged ? unmergedWarning(unpulled) : unpulledWarning(unpulled));
    }
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
      ...(environment.settings.cluster.kind === "kind" && { kindCluster: environment.settings.cluster.name }),
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
