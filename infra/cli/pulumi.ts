// npm run up|preview|destroy -- <env>|--all [--yes] [--no-preflight] [pulumi options...]
// Runs the Pulumi CLI for environments' stacks with the project's embedded defaults: the local
// state backend of Pulumi.yaml (unless PULUMI_BACKEND_URL says otherwise), the demo passphrase
// (unless PULUMI_CONFIG_PASSPHRASE[_FILE] is set), each stack created on first use. With --all,
// every environment runs in parallel, its output prefixed with its name, then a summary.
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as readline from "node:readline";
import * as YAML from "yaml";
import { isMapping, projectRoot, secretSettings, settingsWithStackFiles } from "../config";
import { runMain } from "./main";
import { listStacks, loadStackConfig } from "../offline/stackConfig";
import { runPreflight } from "./doctor";

export const lifecycleCommands = ["up", "preview", "destroy"] as const;
export type LifecycleCommand = (typeof lifecycleCommands)[number];

/** Passphrase of the demo stacks' secrets when the user sets none. Not a secret: demo clusters only. */
export const demoPassphrase = "gitops-demo";

export interface Plan {
  /** Variables added to the caller's environment. */
  readonly environment: Record<string, string>;
  /** Pulumi CLI invocations, in order. */
  readonly invocations: readonly (readonly string[])[];
  /** Lines for the user about the defaults in effect. */
  readonly notes: readonly string[];
}

export interface PlanOptions {
  /** Unattended: no prompt from Pulumi (--all runs several at once). */
  readonly unattended?: boolean;
  /** The stack's kind cluster is already gone: forget its objects before destroying. */
  readonly clusterGone?: boolean;
}

export function planLifecycle(
  command: LifecycleCommand,
  stack: string,
  pulumiArgs: readonly string[],
  env: NodeJS.ProcessEnv,
  options: PlanOptions = {},
): Plan {
  const environment: Record<string, string> = {};
  const notes: string[] = [];
  const localBackend = !env.PULUMI_BACKEND_URL;
  notes.push(
    localBackend
      ? "state: local backend .pulumi-state/ (Pulumi.yaml); set PULUMI_BACKEND_URL to use another"
      : `state: ${env.PULUMI_BACKEND_URL} (PULUMI_BACKEND_URL)`,
  );
  if (localBackend && !env.PULUMI_CONFIG_PASSPHRASE && !env.PULUMI_CONFIG_PASSPHRASE_FILE) {
    environment.PULUMI_CONFIG_PASSPHRASE = demoPassphrase;
    notes.push(`secrets: demo passphrase "${demoPassphrase}"; set PULUMI_CONFIG_PASSPHRASE to use your own`);
  }
  const select = ["stack", "select", "--create", stack];
  // On the local backend, secrets are encrypted with the passphrase; elsewhere the backend's default applies.
  if (localBackend) select.push("--secrets-provider", "passphrase");
  const unattended = options.unattended && command !== "preview" ? ["--yes", "--non-interactive"] : [];
  const invocations: string[][] = [select];
  if (command === "destroy" && options.clusterGone) {
    // The provider would refuse to touch objects of an unreachable cluster; with this it drops them from state.
    environment.PULUMI_K8S_DELETE_UNREACHABLE = "true";
    notes.push(`the kind cluster of ${stack} is already gone: refreshing with PULUMI_K8S_DELETE_UNREACHABLE=true first`);
    invocations.push(["refresh", "--stack", stack, "--yes", "--non-interactive"]);
  }
  invocations.push([command, "--stack", stack, ...unattended, ...pulumiArgs]);
  return { environment, invocations, notes };
}

/**
 * The folder of Pulumi.yaml's `file://` state backend, absolute; undefined for any other backend.
 * The Pulumi CLI resolves it against the directory it runs in and never creates it.
 */
export function projectStateDirectory(root = projectRoot): string | undefined {
  const project: unknown = YAML.parse(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8"));
  const url = isMapping(project) && isMapping(project.backend) ? project.backend.url : undefined;
  return typeof url === "string" && url.startsWith("file://") ? path.resolve(root, url.slice("file://".length)) : undefined;
}

/**
 * Secret settings a stack file stores while the demo passphrase encrypts them. That passphrase
 * is published and the file (with its salt) is committed: anyone with the repository could
 * decrypt them. Returns one problem per environment; empty when none.
 */
export function publicPassphraseProblems(envs: readonly string[], env: NodeJS.ProcessEnv): string[] {
  // Unset or empty (as in planLifecycle), the demo passphrase is what encrypts.
  const userPassphrase = env.PULUMI_CONFIG_PASSPHRASE;
  const demo = !env.PULUMI_BACKEND_URL && !env.PULUMI_CONFIG_PASSPHRASE_FILE && (!userPassphrase || userPassphrase === demoPassphrase);
  if (!demo) return [];
  return envs.flatMap((stack) => {
    const { project, secretKeys } = loadStackConfig(stack);
    const stored = secretKeys.filter((key) => key.startsWith(`${project}:`) && key.slice(project.length + 1) in secretSettings);
    return stored.length === 0
      ? []
      : [
          `Pulumi.${stack}.yaml stores ${stored.map((key) => key.slice(project.length + 1)).join(", ")} encrypted with the demo passphrase, ` +
            `which is public: anyone with the repository can read it. Set PULUMI_CONFIG_PASSPHRASE to your own and re-encrypt ` +
            `(pulumi stack change-secrets-provider --stack ${stack} passphrase), or remove it (pulumi config rm --stack ${stack} <key>)`,
        ];
  });
}

/** Sum of what a Pulumi summary says changed ("+ 3 created", "~ 1 to update", ...); undefined when there is none. */
export function changedResources(output: string): number | undefined {
  const block = output.lastIndexOf("Resources:");
  if (block === -1) return undefined;
  let changed = 0;
  for (const match of output.slice(block).matchAll(/^\s*(?:\+-|[+~-])\s*(\d+)\s+(?:to\s+)?(?:create|update|delete|replace)d?\b/gm)) {
    changed += Number(match[1]);
  }
  return changed;
}

export interface EnvironmentResult {
  readonly env: string;
  readonly exitCode: number;
  readonly seconds: number;
  readonly changed?: number;
  /** Ctrl-C came while it ran (whatever code Pulumi then exits with). */
  readonly interrupted?: boolean;
}

export function summaryTable(results: readonly EnvironmentResult[]): string {
  const rows = [
    ["environment", "result", "duration", "resources changed"],
    ...results.map((result) => [
      result.env,
      result.exitCode === 0 ? "ok" : result.interrupted ? "interrupted" : `failed (exit ${result.exitCode})`,
      `${Math.floor(result.seconds / 60)}m${String(Math.round(result.seconds % 60)).padStart(2, "0")}s`,
      result.changed === undefined ? "-" : String(result.changed),
    ]),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join("  ").trimEnd()).join("\n");
}

/** Runs one Pulumi invocation; with a prefix, its output is piped and printed line by line behind it. */
function runPulumi(
  args: readonly string[],
  environment: NodeJS.ProcessEnv,
  prefix?: string,
): Promise<{ exitCode: number; output: string }> {
  return new Promise((resolve) => {
    // In the project folder, where Pulumi.yaml's relative state folder resolves.
    const child = spawn("pulumi", args, { cwd: projectRoot, env: environment, stdio: prefix === undefined ? "inherit" : ["ignore", "pipe", "pipe"] });
    let output = "";
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      readline.createInterface({ input: stream }).on("line", (line) => {
        output += `${line}\n`;
        process.stdout.write(`${prefix ?? ""}${line}\n`);
      });
    }
    child.on("error", (error) => {
      console.error(`${prefix ?? ""}gitops: could not run pulumi: ${error.message}`);
      resolve({ exitCode: 1, output });
    });
    child.on("close", (code, signal) => resolve({ exitCode: code ?? (signal ? 130 : 1), output }));
  });
}

/** Names of the running kind clusters; undefined when kind cannot tell. */
function runningKindClusters(): string[] | undefined {
  const result = spawnSync("kind", ["get", "clusters"], { encoding: "utf8", timeout: 5000 });
  return result.status === 0 ? result.stdout.split("\n").map((line) => line.trim()) : undefined;
}

/** Whether the environment's own kind cluster is known to be gone. */
function kindClusterGone(env: string, running: string[] | undefined): boolean {
  if (running === undefined) return false;
  try {
    const settings = settingsWithStackFiles(loadStackConfig(env));
    return settings.cluster.kind === "kind" && !running.includes(settings.cluster.name);
  } catch {
    return false;
  }
}

async function confirm(question: string): Promise<boolean> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  const answer = await new Promise<string>((resolve) => rl.question(`${question} [y/N] `, resolve));
  rl.close();
  return /^y(es)?$/i.test(answer.trim());
}

/** Prints a plan's notes, behind the environment's prefix when there is one. */
function printNotes(plan: Plan, prefix = ""): void {
  plan.notes.forEach((note) => console.error(`${prefix}gitops: ${note}`));
}

/** Runs a plan's invocations from `first` on (with --all, `stack select` ran before, one at a time). */
async function runPlan(env: string, plan: Plan, prefix?: string, first = 0): Promise<EnvironmentResult> {
  const started = Date.now();
  const environment = { ...process.env, ...plan.environment };
  let last = { exitCode: 0, output: "" };
  for (const invocation of plan.invocations.slice(first)) {
    last = await runPulumi(invocation, environment, prefix);
    if (last.exitCode !== 0) break;
  }
  return { env, exitCode: last.exitCode, seconds: (Date.now() - started) / 1000, changed: changedResources(last.output) };
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const ours = new Set(["--all", "--yes", "--no-preflight"]);
  const flags = new Set(rest.filter((arg) => ours.has(arg)));
  const [target, ...pulumiArgs] = rest.filter((arg) => !ours.has(arg));
  const known = listStacks();
  const usage = `usage: npm run ${command ?? "up"} -- <env>|--all [--yes] [--no-preflight] [pulumi options]   (environments: ${known.join(", ")})`;
  const all = flags.has("--all");
  if (!lifecycleCommands.includes(command as LifecycleCommand) || (!all && (!target || target.startsWith("-")))) {
    console.error(usage);
    return 2;
  }
  const lifecycle = command as LifecycleCommand;
  // With --all, anything left over is for Pulumi.
  const envs = all ? known : [target!];
  const extraArgs = all ? (target === undefined ? [] : [target, ...pulumiArgs]) : pulumiArgs;
  const unknown = envs.filter((env) => !known.includes(env));
  if (unknown.length > 0) {
    console.error(`gitops: no environment "${unknown.join(", ")}": Pulumi.${unknown[0]}.yaml does not exist\n${usage}`);
    return 2;
  }
  const exposed = publicPassphraseProblems(envs, process.env);
  if (exposed.length > 0) {
    exposed.forEach((problem) => console.error(`gitops: ${problem}`));
    return 2;
  }
  if (!flags.has("--no-preflight") && !(await runPreflight(envs, lifecycle))) {
    console.error("gitops: fix the problems above first (or pass --no-preflight to run anyway)");
    return 1;
  }
  if (spawnSync("pulumi", ["version"], { stdio: "ignore" }).error) {
    console.error("gitops: the Pulumi CLI is not on PATH; install it: https://www.pulumi.com/docs/iac/download-install/");
    return 127;
  }

  // A clone has it (.gitkeep), but a `git clean -dfX` or a copy without dotfiles does not.
  const stateDirectory = process.env.PULUMI_BACKEND_URL ? undefined : projectStateDirectory();
  if (stateDirectory) fs.mkdirSync(stateDirectory, { recursive: true });

  const yes = flags.has("--yes");
  // A single environment gets Pulumi's own prompt; --all cannot prompt in parallel, so it asks once here.
  if (all && lifecycle !== "preview" && !yes) {
    if (!process.stdin.isTTY) {
      console.error(`gitops: ${lifecycle} --all needs --yes when not run from a terminal`);
      return 2;
    }
    const what = lifecycle === "destroy" ? "Destroy (deletes the kind clusters and everything in them)" : "Update";
    if (!(await confirm(`${what}: ${envs.join(", ")}?`))) {
      console.error("gitops: nothing done");
      return 1;
    }
  }

  // Ctrl-C reaches every pulumi process too (same process group); each stops cleanly and we report.
  let interrupted = false;
  process.on("SIGINT", () => {
    interrupted = true;
    console.error("\ngitops: stopping; waiting for Pulumi to finish cleanly (Ctrl-C again forces it)");
  });
  const running = lifecycle === "destroy" ? runningKindClusters() : undefined;
  const plans = new Map(
    envs.map((env) => [env, planLifecycle(lifecycle, env, extraArgs, process.env, { unattended: all || yes, clusterGone: kindClusterGone(env, running) })]),
  );

  if (!all) {
    const plan = plans.get(target!)!;
    printNotes(plan);
    return (await runPlan(target!, plan)).exitCode;
  }

  const width = Math.max(...envs.map((env) => env.length));
  const prefix = (env: string) => `[${env.padEnd(width)}] `;
  // `stack select --create` writes the workspace file: one environment after another.
  const selectFailures = new Map<string, EnvironmentResult>();
  for (const [env, plan] of plans) {
    printNotes(plan, prefix(env));
    const { exitCode } = await runPulumi(plan.invocations[0]!, { ...process.env, ...plan.environment }, prefix(env));
    if (exitCode !== 0) selectFailures.set(env, { env, exitCode, seconds: 0 });
  }
  const results = await Promise.all(
    envs.map((env) => {
      const failed = selectFailures.get(env);
      return failed ? Promise.resolve(failed) : runPlan(env, plans.get(env)!, prefix(env), 1);
    }),
  );
  // A Ctrl-C reaches the Pulumi runs and this process at once; their exits can be handled
  // before the signal is: let a pending SIGINT arrive before the summary says what happened.
  await new Promise((resolve) => setTimeout(resolve, 100));
  console.log(`\n${summaryTable(results.map((result) => ({ ...result, interrupted: interrupted && result.exitCode !== 0 })))}`);
  return results.some((result) => result.exitCode !== 0) ? 1 : 0;
}

if (require.main === module) runMain(main);
