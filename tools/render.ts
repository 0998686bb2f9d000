// npm run render -- <env> [--out DIR]
// Evaluates the program for one environment without a cluster, a Pulumi CLI or a network,
// and prints (or writes) what the stack would apply.
import * as fs from "node:fs";
import * as path from "node:path";
import { ConfigurationError } from "../infra/settings/index.ts";
import {
  helpText,
  parseCommandLine,
  reported,
  runMain,
  say,
  theEnvironment,
  usageFailure,
  UsageError,
  type Io,
  type ToolHelp,
} from "./cli.ts";
import { listEnvironments, loadEnvironment } from "./environments.ts";
import { renderRegistrations, toYaml } from "./offline/documents.ts";
import { evaluateStack } from "./offline/mockEngine.ts";

export const help: ToolHelp = {
  command: "render",
  summary:
    "Prints the Kubernetes objects one environment's stack would apply, as YAML, evaluated offline: no Docker, cluster, Pulumi CLI or network needed.",
  arguments: "<env>",
  options: [
    ["--out DIR", "write manifests.yaml, helm-releases.yaml and kind-cluster.yaml (for kind create cluster --config) into DIR instead"],
  ],
  examples: ["npm run -s render -- dev > dev.yaml", "npm run render -- prod --out out/prod"],
  takesEnvironments: true,
};

export async function main(argv: readonly string[], io: Io): Promise<number> {
  let env: string;
  let outDir: string | undefined;
  try {
    const { values, positionals } = parseCommandLine(argv, { out: { type: "string" } });
    if (values.help) {
      say(io.stdout, helpText(help, listEnvironments(io.root)));
      return 0;
    }
    env = theEnvironment(positionals);
    outDir = values.out;
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    return usageFailure(io, help, error.message, listEnvironments(io.root));
  }

  let environment;
  try {
    environment = loadEnvironment(env, io.root);
  } catch (error) {
    return reported(error, io);
  }
  const evaluation = await evaluateStack({ ...environment.config, root: io.root });
  // What the stack file's reader says, then what the program says (its settings' warnings): each once.
  for (const warning of new Set([...environment.config.warnings, ...evaluation.warnings])) say(io.stderr, `gitops: warning: ${warning}`);
  if (evaluation.error !== undefined) {
    const error = evaluation.error;
    // A configuration problem is the user's to fix: its message says how. Anything else is a bug: show where.
    say(
      io.stderr,
      error instanceof ConfigurationError ? error.message : error instanceof Error ? String(error.stack) : JSON.stringify(error),
    );
    return 1;
  }
  const rendered = renderRegistrations(evaluation.registrations);

  if (outDir === undefined) {
    io.stdout.write(toYaml(rendered.manifests));
    return 0;
  }
  const files: [string, readonly unknown[]][] = [
    ["manifests.yaml", rendered.manifests],
    ["helm-releases.yaml", rendered.helmReleases],
  ];
  // The program names the cluster on kind's command line (--name); the file names it itself, so
  // `kind create cluster --config kind-cluster.yaml` makes this cluster, not one called "kind".
  const { cluster } = environment.settings;
  if (rendered.kindCluster && cluster.kind === "kind") {
    const { kind, apiVersion, ...rest } = rendered.kindCluster;
    files.push(["kind-cluster.yaml", [{ kind, apiVersion, name: cluster.name, ...rest }]]);
  }
  // Relative to the project, as `npm run` (which runs in the project folder) resolves it.
  const target = path.resolve(io.root, outDir);
  try {
    if (fs.existsSync(target) && !fs.statSync(target).isDirectory()) throw new Error("it is a file, not a folder");
    fs.mkdirSync(target, { recursive: true });
    // A file of an earlier render that this one does not write (kind-cluster.yaml, after a
    // switch to an existing cluster) would be read as part of this one.
    for (const file of renderedFiles) if (!files.some(([name]) => name === file)) fs.rmSync(path.join(target, file), { force: true });
    for (const [file, documents] of files) {
      fs.writeFileSync(path.join(target, file), toYaml(documents));
      say(io.stderr, `wrote ${path.join(outDir, file)} (${documents.length} document${documents.length === 1 ? "" : "s"})`);
    }
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === "EACCES" ? "permission denied" : (error as Error).message;
    say(io.stderr, `gitops: --out ${outDir}: cannot write there: ${reason}`);
    return 1;
  }
  return 0;
}

/** Every file `--out` may write. */
const renderedFiles = ["manifests.yaml", "helm-releases.yaml", "kind-cluster.yaml"];

if (import.meta.main) runMain(main);
