// npm run doctor [-- <env>...|--all]
// Checks this machine for what the environments need (all of them by default), and that a deploy
// key a stack added to GitHub is still there, one line per check; exits 1 when any check failed.
import { helpText, parseCommandLine, runMain, say, usageFailure, UsageError, type Io, type ToolHelp } from "./cli.ts";
import { capturePulumi, deployKeyChecks, githubDeployKey } from "./deployKey.ts";
import { clashes, EnvironmentError, listEnvironments, loadEnvironment, unknownEnvironments, type Environment } from "./environments.ts";
import { localMachine, type Machine } from "./machine.ts";
import { mirrorChecks } from "./mirrors.ts";
import { pulumiCli, withPulumiCli, type PulumiCli } from "./pulumiCli.ts";
import { pulumiDefaults } from "./pulumiDefaults.ts";
import { formatResults, needsOf, preflight, type CheckResult, type Purpose } from "./preflight.ts";

export const help: ToolHelp = {
  command: "doctor",
  summary:
    "Checks this machine for what the environments need (Node.js, the Pulumi CLI, Docker, kind, kubectl, inotify limits, free host ports, the registry mirrors), and that a deploy key a stack added to GitHub is still there; one line per check. Every environment unless some are named.",
  arguments: "[<env>...|--all]",
  options: [],
  examples: ["npm run doctor", "npm run doctor -- dev"],
  takesEnvironments: true,
};

/** Runs the checks `purpose` needs for the environments, prints them, and says whether they passed. */
export async function runPreflight(
  environments: readonly Environment[],
  purpose: Purpose,
  io: Io,
  machine: Machine,
  pulumi: PulumiCli,
  problems: readonly CheckResult[] = [],
  /** Environments whose settings could not be read, for the summary line. */
  invalid: readonly string[] = [],
): Promise<boolean> {
  const started = Date.now();
  const results = [...(await preflight(machine, needsOf(environments), purpose, pulumi, io.root)), ...problems];
  const failed = results.filter((result) => result.status === "fail").length;
  say(io.stderr, formatResults(results));
  if (results.some((result) => result.status === "fail" && (result.name === "docker" || result.name === "kind"))) {
    say(io.stderr, "gitops: without Docker and kind, npm run render -- <env> still works: it shows what a stack would apply, offline");
  }
  const names = [...environments.map((environment) => environment.name), ...invalid];
  say(
    io.stderr,
    `preflight for ${names.join(", ")}: ${failed === 0 ? "ready" : `${failed} problem${failed === 1 ? "" : "s"}`} (${((Date.now() - started) / 1000).toFixed(1)}s)`,
  );
  return failed === 0;
}

export async function main(argv: readonly string[], io: Io, machine?: Machine): Promise<number> {
  let requested: string[];
  try {
    const { values, positionals } = parseCommandLine(argv, { all: { type: "boolean" } });
    if (values.help) {
      say(io.stdout, helpText(help, listEnvironments(io.root)));
      return 0;
    }
    if (values.all && positionals.length > 0) throw new UsageError(`--all or environments, not both (${positionals.join(" ")})`);
    requested = positionals;
    const unknown = unknownEnvironments(requested, io.root);
    if (unknown.length > 0) throw new UsageError(unknown.join("\ngitops: "));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    return usageFailure(io, help, error.message, listEnvironments(io.root));
  }
  const environments: Environment[] = [];
  const problems: CheckResult[] = [];
  const invalid: string[] = [];
  for (const name of requested.length > 0 ? requested : listEnvironments(io.root)) {
    try {
      environments.push(loadEnvironment(name, io.root));
    } catch (error) {
      if (!(error instanceof EnvironmentError)) throw error;
      say(io.stderr, `gitops: ${error.message}`);
      problems.push({ name: "config", status: "fail", detail: `${name}: its settings are invalid (above)` });
      invalid.push(name);
    }
  }
  for (const environment of environments)
    for (const warning of environment.warnings)
      problems.push({ name: "config", status: "warn", detail: `${environment.name}: ${warning}` });
  for (const clash of clashes(environments)) problems.push({ name: "clash", status: "fail", detail: clash.message });
  const pulumi = pulumiCli(io.env);
  const env = withPulumiCli(io.env, pulumi);
  machine ??= localMachine(undefined, env);
  const deployKeys = environments.flatMap(({ settings }) => githubDeployKey(settings) ?? []);
  // Only with the CLI at hand: doctor downloads nothing.
  if (deployKeys.length > 0 && pulumi.installed) {
    const variables = { ...env, ...pulumiDefaults(io.root, io.env).variables };
    problems.push(...(await deployKeyChecks(deployKeys, (args) => capturePulumi(args, { cwd: io.root, env: variables }))));
  }
  if (environments.some(({ settings }) => settings.cluster.kind === "kind" && settings.cluster.mirrors)) {
    problems.push(...(await mirrorChecks(machine, io.env)));
  }
  return (await runPreflight(environments, "doctor", io, machine, pulumi, problems, invalid)) ? 0 : 1;
}

if (import.meta.main) runMain(main);
