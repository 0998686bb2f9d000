// npm run render -- <env> [--out DIR]
// Evaluates the program for one environment without a cluster, a Pulumi CLI or a network,
// and prints (or writes) what the stack would apply.
import * as fs from "node:fs";
import * as path from "node:path";
import { ConfigurationError } from "../infra/settings/index.ts";
import { parseCommandLine, reported, runMain, say, theEnvironment, UsageError, type Io } from "./cli.ts";
import { loadEnvironment } from "./environments.ts";
import { renderRegistrations, toYaml } from "./offline/documents.ts";
import { evaluateStack } from "./offline/mockEngine.ts";

const usage = "usage: npm run render -- <env> [--out DIR]";

export async function main(argv: readonly string[], io: Io): Promise<number> {
  let env: string;
  let outDir: string | undefined;
  try {
    const { values, positionals } = parseCommandLine(argv, { out: { type: "string" } });
    if (values.help) {
      say(io.stdout, usage);
      return 0;
    }
    env = theEnvironment(positionals);
    outDir = values.out;
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    say(io.stderr, `gitops: ${error.message}\n${usage}`);
    return 2;
  }

  let environment;
  try {
    environment = loadEnvironment(env, io.root);
  } catch (error) {
    return reported(error, io);
  }
  for (const warning of environment.warnings) say(io.stderr, `gitops: warning: ${warning}`);
  const evaluation = await evaluateStack({ ...environment.config, root: io.root });
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
  if (rendered.kindCluster) files.push(["kind-cluster.yaml", [rendered.kindCluster]]);
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
